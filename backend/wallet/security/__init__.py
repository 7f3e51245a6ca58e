"""Security: field encryption, the audit log, second factors, devices (docs/security.md)."""
