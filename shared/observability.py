"""Logging and tracing, configured from the POWERTOOLS_* environment variables.

Handlers use these objects directly rather than Powertools' decorators, which expect (event, context)
while Chalice calls handler(event). Never log complaint text or personal data: log tracking numbers.
"""

from aws_lambda_powertools import Logger, Tracer

logger = Logger(service="hotspot")
# Disabled where X-Ray does not exist (AWS China regions, the local stack): POWERTOOLS_TRACE_DISABLED=true.
tracer = Tracer(service="hotspot")
