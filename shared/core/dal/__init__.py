"""DynamoDB access: the only package that talks to the tables, one module per store (`cases`, `idempotency`,
`quarantine`, `mailbox`, `staff`, `publications`, `hotspots`, `stats`, `records`, `surveys`, `campaign`: the one
partition per campaign of its material submissions and its surveys, which a report reads in one Query) and their
common helpers (`items`).

Cases table (single table, keys `pk`/`sk`, every index projects all attributes):

| item / access pattern                         | key                                                       |
|-----------------------------------------------|-----------------------------------------------------------|
| case by id = by tracking number               | pk `CASE#<no>`, sk `CASE`                                 |
| complainant of a case (personal data, apart)  | pk `CASE#<no>`, sk `COMPLAINANT`                          |
| audit events of a case, in order              | pk `CASE#<no>`, sk `EVENT#<version:08>`                   |
| audit event changing nothing (reveal, relay)  | pk `CASE#<no>`, sk `EVENT#<version:08>#<at>#<id>`         |
| notifications already sent for a case         | pk `CASE#<no>`, sk `NOTICE#<notification id>`             |
| a notice to the complainant, its delivery     | pk `CASE#<no>`, sk `NOTICE#COMPLAINANT#<id>#<sms or email>`|
| a department's cases by status, by due time   | gsi1: `DEPT#<code>#<status>` / `<due_at or received>#<no>`|
| county-wide cases by status, by receipt time  | gsi2: `STATUS#<status>` / `<received_at>#<no>`            |
| cases due before a time (sharded by UTC month)| gsi3: `DUE#<yyyy-mm>` / `<due_at>#<no>`                  |
| cases by complainant (keyed hash of contact)  | gsi4: `CONTACT#<hash>` / `<received_at>#<no>`             |
| a complainant's newest case (SMS follow-ups)  | pk `CONTACT#<hash>`, sk `LATEST` (no, channel, received)  |
| quarantined payloads, by month, in order      | pk `QUARANTINE#<yyyy-mm>`, sk `<received_at>#<raw ref>`   |
| IMAP poller position in a mailbox             | pk `MAILBOX#<name>`, sk `STATE` (UIDVALIDITY, last UID)  |
| staff account (own token issuer only)         | pk `STAFF#<username>`, sk `PROFILE`                       |
| publication of a typical case (draft..public) | pk `CASE#<no>`, sk `PUBLICATION`                          |
| media follow-up notes on a case, in order     | pk `CASE#<no>`, sk `MEDIANOTE#<at>#<id>`                  |
| published typical cases, newest first (public)| pk `PUBLISHED`, sk `<published_at>#<no>` (redacted only)  |
| published answers to questions, newest first  | pk `ANSWERS`, sk `<published_at>#<no>` (redacted only)    |
| cases whose running deadline is provisional   | gsi4: `PROVISIONAL#<UTC year of due_at>` / `<due_at>#<no>`|
| messages a change must still send (outbox)    | pk `CASE#<no>`, sk `OUTBOX#<version:08>`                  |
| outbox items by age, to sweep                 | gsi3: `OUTBOX#<shard 0-7>` / `<created_at>#<no>#<version>`|
| hotspot (shared/reporting/hotspots.py), its history    | pk `HOTSPOT#<id>`, sk `HOTSPOT`                           |
| hotspots: all, or by status, by opening       | gsi2: `HOTSPOTS` / `<status>#<opened_at>#<id>`            |
| statistics counters of a period, by department| pk `STATS#<period key>`, sk `DEPT#<code>` (a number each) |
| hotspot cluster of a county day (count, cases)| pk `CLUSTER#<yyyy-mm-dd>`, sk `<cluster key>`             |
| what a case counts for now (its version)      | pk `CASE#<no>`, sk `STATS`                                |
| record FZB entered (lost lawsuit, accountability)| pk `RECORD#<id>`, sk `RECORD`                          |
| changes of such a record, in order (audit)    | pk `RECORD#<id>`, sk `EVENT#<at>#<version:04>`            |
| records of a year, by date (reports, lists)   | gsi1: `RECORDS#<yyyy>` / `<date>#<kind>#<id>`             |
| campaign material submissions, by department | pk `CAMPAIGN#<campaign>`, sk `MATERIAL#<dept>#<material>#<upload id>`|
| material reminder of a day (sent once)        | pk `MATREMIND#<campaign>#<yyyy-mm-dd>`, sk `<dept>#<material>` |
| opinion-form survey (征求意见表)                | pk `SURVEY#<id>`, sk `SURVEY`                             |
| a one-time link of it, its anonymous answer   | pk `SURVEY#<id>`, sk `LINK#<hash of the token>`           |
| the surveys of a campaign, in order           | pk `CAMPAIGN#<campaign>`, sk `SURVEY#<created_at>#<id>`   |
| a complainant's newest cases (call-back SMS)  | gsi4: `CONTACT#<hash>`, newest first (as above)           |

gsi3 is sparse: its keys are set only while a deadline runs (`due_at`, of kind `due_kind`), and on outbox items.
gsi4 keys are on the complainant item, and on a case item only while its running deadline is provisional (a
year without official calendar data): the calendar's yearly file is few and far between, so rather than a fifth
index (or a Scan when it arrives) the case item borrows gsi4, which it does not use otherwise; its partitions
`PROVISIONAL#<year>` never meet the `CONTACT#` ones. The scheduled run reads the partitions of the years that now
have data (shared/routing/provisional.py); the key goes when the case item is next put without the flag. The outbox
items borrow gsi3 the same way, spread over eight partitions by tracking number since every staff action writes
one; each lives only until its messages are sent, so the sweeper reads nearly empty partitions.
Hotspot items borrow gsi2 (one partition, `HOTSPOTS`, apart from the cases' `STATUS#` ones, the status first
in the sort key): a county has tens to hundreds of hotspots, and reports and detection read every status, so all
of them are one Query and one status is a `BETWEEN` on its prefix. (Stages deployed when it was one partition per
status, `HOTSPOTS#<status>` / `<opened_at>#<id>`, move theirs once: `hotspot move-hotspot-listing`.)
A hotspot's id is `<window>d-<cluster digest>-<generation>`
(generation: 1, then one more for each flare after a resolved one), so that two detection runs that both see a
cluster fire write the same id and the conditional put lets one of them open it.

Statistics (StatsStore, shared/reporting/stats.py) are counted exactly once per case version: the `STATS` item of a case
holds the version it was last counted at and what that version counted for (`counts`: JSON of [period, department,
counter, amount] lists; `clusters`: JSON of [day, cluster key] lists). Counting a newer version is ONE transaction: the
put of the new `STATS` item, on condition that the stored one is still the version read (or absent), with an
`ADD` of the difference on every counter item and cluster item it touches (negative amounts take away; the
cluster's `cases` string set gets `ADD` or `DELETE`). A redelivered, duplicated or older event finds the stored
version up to date and changes nothing; of two consumers racing, one transaction fails its condition. Period
keys are those of shared/reporting/periods.py; reading a report is one Query per period, whatever the number of cases.
Records (RecordStore, shared/reporting/records.py) borrow gsi1 (partitions `RECORDS#<year of the record's date>`, apart
from the cases' `DEPT#` ones): the lists of records of a period are one Query per calendar year it spans, and an
edit of a record's date moves only its index keys, never its id. What a record counts for (one on its department's
row of every period its date falls in) is ADDed to the statistics counters in the transaction that stores,
changes or deletes it (on the counter shard of its id), so reports read the records' figures with the cases'.

Idempotency table: `key` -> stored answer, expiring through the `expires_at` TTL attribute. Rate-limit
counters live there too (`rate:<scope>:<window start>:<hashed subject>`), expiring the same way.
"""
