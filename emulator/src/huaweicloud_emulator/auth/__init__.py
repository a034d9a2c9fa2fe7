"""Request-signature verification for the emulated Huawei Cloud APIs.

Pure functions over plain values: nothing here knows about HTTP servers or the rest of the emulator.

* :func:`verify_sdk_hmac` - ``SDK-HMAC-SHA256`` (every REST service behind API Gateway).
* :func:`verify_obs` - OBS: OBS signature, AWS v2, AWS v4, in the Authorization header or in a
  presigned URL.
"""

from .errors import SignatureError
from .keys import KeyStore, Principal, StaticKeyStore
from .obs import verify_obs
from .sdk_hmac import verify_sdk_hmac

__all__ = [
    "KeyStore",
    "Principal",
    "SignatureError",
    "StaticKeyStore",
    "verify_obs",
    "verify_sdk_hmac",
]
