"""The IMAP poller against a real IMAP server on loopback: Debian's dovecot, started here with a config of its
own in a temporary directory (TLS with a throw-away certificate, one user in a passwd-file, maildir)."""

import datetime as dt
import getpass
import grp
import imaplib
import ipaddress
import json
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.core import objects
from shared.core.aws import client
from shared.core.dal.mailbox import MailboxStore
from shared.core.settings import Settings
from shared.intake import imap_poller

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"  # .ci/run installs dovecot-imapd
USER, PASSWORD = "tousu@jingyu.test", "s3cret-Passw0rd"
GB2312_MAIL = (
    b"From: =?GB2312?B?zfWGtA==?= <wangzhe@163.com>\r\nSubject: test\r\nMessage-ID: <imap-1@163.com>\r\n"
    b"Content-Type: text/plain; charset=GB2312\r\n\r\n" + "李堃乱罚款".encode("gb18030") + b"\r\n"
)


@dataclass
class Imap:
    port: int
    context: ssl.SSLContext
    log: Path

    def append(self, raw: bytes) -> None:
        with imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=self.context) as imap:
            imap.login(USER, PASSWORD)
            assert imap.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)[0] == "OK"

    def seen_flags(self) -> list[bytes]:
        with imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=self.context) as imap:
            imap.login(USER, PASSWORD)
            imap.select("INBOX", readonly=True)
            return [item for item in imap.fetch("1:*", "(FLAGS)")[1] if isinstance(item, bytes) and b"\\Seen" in item]


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Imap]:
    # Dovecot's login processes never run as root: as root (CI), they run as the package's own users, which
    # must be able to reach base_dir, so the directory is outside pytest's private (0700) one.
    root = Path(tempfile.mkdtemp(prefix="hotspot-dovecot-"))
    root.chmod(0o755)
    cert, key = self_signed(root)
    port = free_port()
    as_root = os.getuid() == 0
    login_user = "dovenull" if as_root else getpass.getuser()
    user = "dovecot" if as_root else getpass.getuser()
    group = "dovecot" if as_root else grp.getgrgid(os.getgid()).gr_name
    # Dovecot will not read mail as root either: as root, the mail belongs to the dovecot user.
    mail_uid, mail_gid = (
        (pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid) if as_root else (os.getuid(), os.getgid())
    )
    (root / "mail").mkdir()
    os.chown(root / "mail", mail_uid, mail_gid)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    config = root / "dovecot.conf"
    config.write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
default_login_user = {login_user}
default_internal_user = {user}
default_internal_group = {group}
auth_mechanisms = plain
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
imap_id_log = *
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
    )
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "dovecot exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "dovecot did not listen within 15 s"
                time.sleep(0.1)
        yield Imap(port, ssl.create_default_context(cafile=str(cert)), root / "dovecot.log")
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox(aws: Settings, dovecot: Imap) -> Settings:
    secret = {"host": "127.0.0.1", "port": dovecot.port, "username": USER, "password": PASSWORD}
    client("secretsmanager").create_secret(Name="hotspot/imap", SecretString=json.dumps(secret))
    return aws.model_copy(update={"mail_imap_secret": "hotspot/imap"})


def test_poller_archives_each_new_message_once_and_leaves_the_mailbox_unread(mailbox: Settings, dovecot: Imap) -> None:
    # given a mailbox with a GB2312 mail in it (and whatever earlier tests left)
    dovecot.append(GB2312_MAIL)
    # when the poller runs
    first = imap_poller.poll(mailbox, context=dovecot.context)
    # then every message is in the raw bucket under the mail prefix, byte for byte, and none is marked read
    assert first.archived >= 1 and all(key.startswith("raw/email/") for key in first.raw_keys)
    assert objects.get(mailbox.raw_bucket, first.raw_keys[-1]) == GB2312_MAIL
    assert dovecot.seen_flags() == []
    # and the NetEase-style ID command went before SELECT (dovecot logs it)
    assert "hotspot-intake" in dovecot.log.read_text()
    # when it runs again, and again after one more mail arrives
    again = imap_poller.poll(mailbox, context=dovecot.context)
    dovecot.append(GB2312_MAIL.replace(b"imap-1", b"imap-2"))
    later = imap_poller.poll(mailbox, context=dovecot.context)
    # then nothing is fetched twice and only the new one comes
    assert again.archived == 0 and later.archived == 1
    assert objects.get(mailbox.raw_bucket, later.raw_keys[0]).count(b"imap-2") == 1


def test_a_new_uidvalidity_reads_the_mailbox_again(mailbox: Settings, dovecot: Imap) -> None:
    # given a mailbox already read, whose remembered position is under an older UIDVALIDITY
    dovecot.append(GB2312_MAIL)
    total = imap_poller.poll(mailbox, context=dovecot.context).archived
    MailboxStore(mailbox).advance("hotspot/imap#INBOX", 1, 10_000)
    # when the poller runs
    result = imap_poller.poll(mailbox, context=dovecot.context)
    # then it reads every message again (Message-IDs keep the complaints single)
    assert result.archived == total


def test_without_a_mailbox_secret_the_poller_does_nothing(aws: Settings) -> None:
    # given no mailbox configured / when the poller runs / then it archives nothing and does not fail
    assert imap_poller.poll(aws).archived == 0
    assert objects.list_under(aws.raw_bucket, "raw/email/") == []
