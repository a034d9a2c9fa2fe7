"""Request-signature verification for the emulated Huawei Cloud APIs.

Pure functions over plain values: nothing here knows about HTTP servers or the rest of the emulator.

* :func:`verify_sdk_hmac` - ``SDK-HMAC-SHA256`` (every REST service behind API Gateway).
* :func:`authenticate_obs` (and :func:`verify_obs`, its principal only) - OBS: OBS signature, AWS v2,
  AWS v4, in the Authorization header or in a presigned URL; :class:`ChunkSigner` checks the chunks of a
  v4 streaming-signed body.
"""

from .errors import SignatureError
from .keys import KeyStore, Principal, StaticKeyStore
from .obs import ChunkSigner, ObsAuthentication, authenticate_obs, verify_obs
from .sdk_hmac import verify_sdk_hmac

__all__ = [
    "ChunkSigner",
    "KeyStore",
    "ObsAuthentication",
    "Principal",
    "SignatureError",
    "StaticKeyStore",
    "authenticate_obs",
    "verify_obs",
    "verify_sdk_hmac",
]
