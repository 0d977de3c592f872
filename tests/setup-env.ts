// Tests talk to real services; the gateway's own log would drown the test output.
process.env.DXG_LOG_LEVEL ??= 'error';
process.env.DXG_LOG_FORMAT ??= 'json';
