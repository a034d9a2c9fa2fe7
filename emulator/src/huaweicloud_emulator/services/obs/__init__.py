"""OBS, the object storage service: buckets, objects, listings, multipart uploads and appends.

Durable (object bytes as blobs, metadata in SQLite, see :mod:`huaweicloud_emulator.storage`) and spoken
to by the official SDK in every signing mode as well as by S3 clients (boto3, pyarrow's S3FileSystem)
and OpenDAL: streaming ``aws-chunked`` uploads (:mod:`.aws_chunked`), S3's additional checksums
(:mod:`.checksums`), and the null versions of buckets without versioning (:mod:`.versions`).
"""

from .service import ObsService

__all__ = ["ObsService"]
