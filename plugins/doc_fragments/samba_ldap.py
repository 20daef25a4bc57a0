"""The connection options of the modules that talk LDAPS to a Samba AD DC
(module_utils/samba_ldap.py, CONNECTION_ARGUMENT_SPEC)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  server_uri:
    description: LDAP URI of the domain controller, for example C(ldaps://dc1.stad.stockholm.test).
    type: str
    required: true
  bind_dn:
    description: The account to bind as (a DN or a user principal name).
    type: str
    required: true
  bind_pw:
    description: Its password.
    type: str
    required: true
  ca_path:
    description: CA certificate file the server's certificate is validated against.
    type: path
  validate_certs:
    description: Validate the server's certificate. Only for tests.
    type: bool
    default: true
"""
