"""OBS server-side encryption: SSE-C (boto3 and the official SDK: keys checked, required again to read,
copy and upload parts, never stored; bytes encrypted at rest), SSE-KMS / SSE-OBS headers recorded and
echoed, and buckets' default encryption (``?encryption``), durable across a restart."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import uuid
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from obs import (
    AppendObjectContent,
    CompleteMultipartUploadRequest,
    CompletePart,
    CopyObjectHeader,
    GetObjectHeader,
    PutObjectHeader,
    SseCHeader,
    SseKmsHeader,
)
from obs_clients import s3, sdk, signed

from huaweicloud_emulator.process import EmulatorProcess

KMS_KEY = "cn-north-4:0123456789abcdef0123456789abcdef:key/4f1c2b3a-0000-4000-8000-000000000001"
MIB = 1024 * 1024


def client_error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        call(**kwargs)
    response = failed.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


def sse_c(key: bytes, *, source: bool = False) -> dict[str, Any]:
    prefix = "CopySource" if source else ""
    return {f"{prefix}SSECustomerAlgorithm": "AES256", f"{prefix}SSECustomerKey": key}


def key_md5(key: bytes) -> str:
    return base64.b64encode(hashlib.md5(key).digest()).decode()


def data_dir_files(process: EmulatorProcess) -> list[Path]:
    return [path for path in process.data_dir.rglob("*") if path.is_file()]


def found_in(files: list[Path], needle: bytes) -> list[Path]:
    return [path for path in files if needle in path.read_bytes()]


# -- SSE-C ---------------------------------------------------------------------------------------


def test_sse_c_round_trip_and_key_required(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    key, other = os.urandom(32), os.urandom(32)
    body = os.urandom(5000)
    put = boto.put_object(Bucket=bucket, Key="secret", Body=body, **sse_c(key))
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert put["SSECustomerKeyMD5"] == key_md5(key)
    assert put["ETag"] != f'"{hashlib.md5(body).hexdigest()}"'  # as S3: not the MD5 of the data

    got = boto.get_object(Bucket=bucket, Key="secret", **sse_c(key))
    assert got["Body"].read() == body
    assert (got["SSECustomerAlgorithm"], got["SSECustomerKeyMD5"]) == ("AES256", key_md5(key))
    assert got["ETag"] == put["ETag"]
    ranged = boto.get_object(Bucket=bucket, Key="secret", Range="bytes=1001-3333", **sse_c(key))
    assert ranged["Body"].read() == body[1001:3334]
    assert ranged["ContentRange"] == "bytes 1001-3333/5000"
    head = boto.head_object(Bucket=bucket, Key="secret", **sse_c(key))
    assert (head["ContentLength"], head["SSECustomerKeyMD5"]) == (5000, key_md5(key))

    missing = client_error(boto.get_object, Bucket=bucket, Key="secret")
    assert (missing["Status"], missing["Code"]) == (400, "InvalidRequest")
    assert "Server Side Encryption" in missing["Message"]
    wrong = client_error(boto.get_object, Bucket=bucket, Key="secret", **sse_c(other))
    assert (wrong["Status"], wrong["Code"]) == (403, "AccessDenied")
    assert client_error(boto.head_object, Bucket=bucket, Key="secret")["Status"] == 400
    assert client_error(boto.head_object, Bucket=bucket, Key="secret", **sse_c(other))["Status"] == 403

    boto.put_object(Bucket=bucket, Key="plain", Body=b"plain")
    not_applicable = client_error(boto.get_object, Bucket=bucket, Key="plain", **sse_c(key))
    assert (not_applicable["Status"], not_applicable["Code"]) == (400, "InvalidRequest")


def test_sse_c_key_checks(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    key = os.urandom(32)
    bad_md5 = client_error(  # with its MD5 given, botocore sends the key as is: base64
        boto.put_object,
        Bucket=bucket,
        Key="k",
        Body=b"x",
        SSECustomerAlgorithm="AES256",
        SSECustomerKey=base64.b64encode(key).decode(),
        SSECustomerKeyMD5=key_md5(b"other"),
    )
    assert (bad_md5["Status"], bad_md5["Code"]) == (400, "InvalidArgument")
    assert bad_md5["ArgumentName"] == "x-amz-server-side-encryption-customer-key-MD5"
    short = client_error(boto.put_object, Bucket=bucket, Key="k", Body=b"x", **sse_c(os.urandom(16)))
    assert (short["Status"], short["Code"]) == (400, "InvalidArgument")
    assert short["Message"] == "The secret key was invalid for the specified algorithm."
    algorithm = client_error(
        boto.put_object, Bucket=bucket, Key="k", Body=b"x", SSECustomerAlgorithm="AES128", SSECustomerKey=key
    )
    assert (algorithm["Status"], algorithm["Code"]) == (400, "InvalidEncryptionAlgorithmError")
    both = client_error(
        boto.put_object, Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="AES256", **sse_c(key)
    )
    assert (both["Status"], both["Code"]) == (400, "InvalidArgument")
    # A key sent without its MD5 (no SDK does that): refused, and the key is not in the answer.
    encoded = base64.b64encode(key).decode()
    raw = signed(
        obs_emulator,
        "PUT",
        f"/{bucket}/k",
        body=b"x",
        headers={
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": encoded,
        },
    )
    assert raw.status_code == 400 and b"<Code>InvalidArgument</Code>" in raw.content
    assert encoded.encode() not in raw.content
    assert client_error(boto.head_object, Bucket=bucket, Key="k")["Status"] == 404  # nothing was written


def test_sse_c_large_object_is_encrypted_at_rest(fresh_emulator: EmulatorProcess) -> None:
    """Streamed (3 MiB) and inline (small) objects: neither the key nor the data reach the data directory in
    clear, and the objects read back after a restart."""
    boto = s3(fresh_emulator)
    boto.create_bucket(Bucket="sealed")
    key = os.urandom(32)
    large = (b"PLAINTEXT-MARKER-" + os.urandom(47)) * (3 * MIB // 64)
    small = b"small-plaintext-marker-" + os.urandom(100)
    boto.put_object(Bucket="sealed", Key="large", Body=large, **sse_c(key))
    boto.put_object(Bucket="sealed", Key="small", Body=small, **sse_c(key))
    boto.put_object(Bucket="sealed", Key="clear", Body=small)  # the search below does find plaintext

    fresh_emulator.restart()
    files = data_dir_files(fresh_emulator)
    assert found_in(files, small[:40]), "the unencrypted copy is where the search looks"
    for needle in (key, base64.b64encode(key), hashlib.md5(key).digest(), key_md5(key).encode()):
        assert found_in(files, needle) == []
    assert found_in(files, b"PLAINTEXT-MARKER-") == []
    assert key not in Path(fresh_emulator.log_path).read_bytes()
    assert base64.b64encode(key) not in Path(fresh_emulator.log_path).read_bytes()

    assert boto.get_object(Bucket="sealed", Key="large", **sse_c(key))["Body"].read() == large
    assert boto.get_object(Bucket="sealed", Key="small", **sse_c(key))["Body"].read() == small
    # Ranges that start and end inside AES blocks, across the 1 MiB read chunks.
    for first, last in ((17, 1_048_600), (MIB - 5, MIB + 5), (len(large) - 33, len(large) - 1)):
        ranged = boto.get_object(Bucket="sealed", Key="large", Range=f"bytes={first}-{last}", **sse_c(key))
        assert ranged["Body"].read() == large[first : last + 1]


def test_sse_c_multipart_upload_and_part_copy(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    key, other = os.urandom(32), os.urandom(32)
    parts_data = [os.urandom(MIB + 3), os.urandom(MIB + 7)]
    source = os.urandom(300_000)
    boto.put_object(Bucket=bucket, Key="source", Body=source, **sse_c(other))
    upload = boto.create_multipart_upload(Bucket=bucket, Key="big", **sse_c(key))
    assert upload["SSECustomerKeyMD5"] == key_md5(key)
    upload_id = upload["UploadId"]

    no_key = client_error(
        boto.upload_part, Bucket=bucket, Key="big", UploadId=upload_id, PartNumber=1, Body=parts_data[0]
    )
    assert (no_key["Status"], no_key["Code"]) == (400, "InvalidRequest")
    wrong_key = client_error(
        boto.upload_part,
        Bucket=bucket,
        Key="big",
        UploadId=upload_id,
        PartNumber=1,
        Body=parts_data[0],
        **sse_c(other),
    )
    assert (wrong_key["Status"], wrong_key["Code"]) == (400, "InvalidRequest")

    etags = []
    for number, data in enumerate(parts_data, start=1):
        part = boto.upload_part(
            Bucket=bucket, Key="big", UploadId=upload_id, PartNumber=number, Body=data, **sse_c(key)
        )
        assert part["SSECustomerKeyMD5"] == key_md5(key)
        etags.append(part["ETag"])
    copied = boto.upload_part_copy(
        Bucket=bucket,
        Key="big",
        UploadId=upload_id,
        PartNumber=3,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange="bytes=1000-200999",
        **sse_c(key),
        **sse_c(other, source=True),
    )
    etags.append(copied["CopyPartResult"]["ETag"])
    boto.complete_multipart_upload(
        Bucket=bucket,
        Key="big",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]},
        **sse_c(key),
    )
    whole = parts_data[0] + parts_data[1] + source[1000:201000]
    got = boto.get_object(Bucket=bucket, Key="big", **sse_c(key))
    assert got["Body"].read() == whole
    assert got["ETag"].endswith('-3"')
    boundary = len(parts_data[0])
    ranged = boto.get_object(
        Bucket=bucket, Key="big", Range=f"bytes={boundary - 10}-{2 * boundary + 50}", **sse_c(key)
    )
    assert ranged["Body"].read() == whole[boundary - 10 : 2 * boundary + 51]
    assert client_error(boto.get_object, Bucket=bucket, Key="big")["Status"] == 400


def test_sse_c_copies(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    key, new_key = os.urandom(32), os.urandom(32)
    body = os.urandom(70_000)
    boto.put_object(Bucket=bucket, Key="a", Body=body, **sse_c(key))
    source = {"Bucket": bucket, "Key": "a"}

    missing = client_error(boto.copy_object, Bucket=bucket, Key="b", CopySource=source)
    assert (missing["Status"], missing["Code"]) == (400, "InvalidRequest")
    wrong = client_error(
        boto.copy_object, Bucket=bucket, Key="b", CopySource=source, **sse_c(new_key, source=True)
    )
    assert (wrong["Status"], wrong["Code"]) == (403, "AccessDenied")

    rekeyed = boto.copy_object(
        Bucket=bucket, Key="b", CopySource=source, **sse_c(key, source=True), **sse_c(new_key)
    )
    assert rekeyed["SSECustomerKeyMD5"] == key_md5(new_key)
    assert boto.get_object(Bucket=bucket, Key="b", **sse_c(new_key))["Body"].read() == body
    assert client_error(boto.get_object, Bucket=bucket, Key="b", **sse_c(key))["Status"] == 403

    boto.copy_object(Bucket=bucket, Key="c", CopySource=source, **sse_c(key, source=True))
    decrypted = boto.get_object(Bucket=bucket, Key="c")
    assert decrypted["Body"].read() == body
    assert decrypted["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'

    boto.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "c"}, **sse_c(new_key))
    assert boto.get_object(Bucket=bucket, Key="d", **sse_c(new_key))["Body"].read() == body
    # In place, with a new key: a copy onto itself that changes only the encryption.
    boto.copy_object(Bucket=bucket, Key="a", CopySource=source, **sse_c(key, source=True), **sse_c(new_key))
    assert boto.get_object(Bucket=bucket, Key="a", **sse_c(new_key))["Body"].read() == body


@pytest.mark.parametrize("signature", ["obs", "v2"])
def test_sse_c_with_the_sdk(obs_emulator: EmulatorProcess, bucket: str, signature: str) -> None:
    client = sdk(obs_emulator, signature)
    # The SDK takes a key as 32 characters (it sends a copy source's str() of bytes).
    key, other = secrets.token_hex(16), secrets.token_hex(16)
    header = SseCHeader.getInstance(key)
    put = client.putContent(bucket, "sdk", b"sdk secret", headers=PutObjectHeader(sseHeader=header))
    assert put.status == 200, put.errorCode
    assert (put.body.sseC, put.body.sseCKeyMd5) == ("AES256", key_md5(key.encode()))
    got = client.getObject(bucket, "sdk", loadStreamInMemory=True, headers=GetObjectHeader(sseHeader=header))
    assert got.status == 200 and got.body.buffer == b"sdk secret"
    meta = client.getObjectMetadata(bucket, "sdk", sseHeader=header)
    assert (meta.status, meta.body.sseC, meta.body.contentLength) == (200, "AES256", 10)
    wrong = client.getObject(
        bucket,
        "sdk",
        loadStreamInMemory=True,
        headers=GetObjectHeader(sseHeader=SseCHeader.getInstance(other)),
    )
    assert (wrong.status, wrong.errorCode) == (403, "AccessDenied")
    assert client.getObject(bucket, "sdk", loadStreamInMemory=True).status == 400

    copy = client.copyObject(
        bucket,
        "sdk",
        bucket,
        "sdk-copy",
        headers=CopyObjectHeader(sourceSseHeader=header, destSseHeader=SseCHeader.getInstance(other)),
    )
    assert copy.status == 200, copy.errorCode
    copied = client.getObject(
        bucket,
        "sdk-copy",
        loadStreamInMemory=True,
        headers=GetObjectHeader(sseHeader=SseCHeader.getInstance(other)),
    )
    assert copied.body.buffer == b"sdk secret"

    # OBS appends to an SSE-C object with its key, each time.
    first = client.appendObject(
        bucket,
        "log",
        AppendObjectContent(content=b"0123456789abcdefX", position=0),
        headers=PutObjectHeader(sseHeader=header),
    )
    assert first.status == 200, first.errorCode
    again = client.appendObject(
        bucket,
        "log",
        AppendObjectContent(content=b"-tail", position=17),
        headers=PutObjectHeader(sseHeader=header),
    )
    assert (again.status, again.body.nextPosition) == (200, 22)
    keyless = client.appendObject(bucket, "log", AppendObjectContent(content=b"!", position=22))
    assert keyless.status == 400
    log = client.getObject(bucket, "log", loadStreamInMemory=True, headers=GetObjectHeader(sseHeader=header))
    assert log.body.buffer == b"0123456789abcdefX-tail"


def test_sdk_multipart_with_sse_c(obs_emulator: EmulatorProcess, bucket: str) -> None:
    client = sdk(obs_emulator)
    header = SseCHeader.getInstance(secrets.token_hex(16))
    data = os.urandom(300_000)
    upload = client.initiateMultipartUpload(bucket, "mp", sseHeader=header)
    assert upload.status == 200 and upload.body.sseC == "AES256"
    upload_id = upload.body.uploadId
    parts = []
    for number, chunk in enumerate((data[:150_000], data[150_000:]), start=1):
        part = client.uploadPart(bucket, "mp", number, upload_id, chunk, sseHeader=header)
        assert part.status == 200, part.errorCode
        parts.append(CompletePart(partNum=number, etag=part.body.etag))
    done = client.completeMultipartUpload(bucket, "mp", upload_id, CompleteMultipartUploadRequest(parts))
    assert done.status == 200, done.errorCode
    got = client.getObject(bucket, "mp", loadStreamInMemory=True, headers=GetObjectHeader(sseHeader=header))
    assert got.body.buffer == data


# -- SSE-KMS and SSE-OBS ------------------------------------------------------------------------


def test_kms_and_s3_managed_headers_are_recorded_and_echoed(
    obs_emulator: EmulatorProcess, bucket: str
) -> None:
    boto = s3(obs_emulator)
    put = boto.put_object(
        Bucket=bucket,
        Key="kms",
        Body=b"k",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=KMS_KEY,
        BucketKeyEnabled=True,
    )
    arn = "arn:aws:kms:" + KMS_KEY
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"], put["BucketKeyEnabled"]) == (
        "aws:kms",
        arn,
        True,
    )
    for read in (boto.head_object, boto.get_object):
        answer = read(Bucket=bucket, Key="kms")
        assert (answer["ServerSideEncryption"], answer["SSEKMSKeyId"]) == ("aws:kms", arn)
    assert boto.get_object(Bucket=bucket, Key="kms")["Body"].read() == b"k"

    default_key = boto.put_object(Bucket=bucket, Key="default-key", Body=b"d", ServerSideEncryption="aws:kms")
    assert default_key["SSEKMSKeyId"].startswith("arn:aws:kms:cn-north-4:")
    managed = boto.put_object(Bucket=bucket, Key="aes", Body=b"a", ServerSideEncryption="AES256")
    assert managed["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in managed
    assert boto.head_object(Bucket=bucket, Key="aes")["ServerSideEncryption"] == "AES256"
    boto.put_object(Bucket=bucket, Key="plain", Body=b"p")
    assert "ServerSideEncryption" not in boto.head_object(Bucket=bucket, Key="plain")

    copy = boto.copy_object(
        Bucket=bucket,
        Key="kms-copy",
        CopySource={"Bucket": bucket, "Key": "aes"},
        ServerSideEncryption="aws:kms",
    )
    assert copy["ServerSideEncryption"] == "aws:kms"
    assert boto.head_object(Bucket=bucket, Key="kms-copy")["ServerSideEncryption"] == "aws:kms"
    plain_copy = boto.copy_object(
        Bucket=bucket, Key="plain-copy", CopySource={"Bucket": bucket, "Key": "kms"}
    )
    assert "ServerSideEncryption" not in plain_copy  # the destination's own encryption: none asked

    upload = boto.create_multipart_upload(
        Bucket=bucket, Key="mp", ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS_KEY
    )
    assert upload["ServerSideEncryption"] == "aws:kms"
    part = boto.upload_part(Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"p")
    done = boto.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert (done["ServerSideEncryption"], done["SSEKMSKeyId"]) == ("aws:kms", arn)
    assert boto.head_object(Bucket=bucket, Key="mp")["SSEKMSKeyId"] == arn

    unsupported = signed(
        obs_emulator, "PUT", f"/{bucket}/x", body=b"x", headers={"x-amz-server-side-encryption": "rot13"}
    )
    assert unsupported.status_code == 400 and b"<Code>InvalidArgument</Code>" in unsupported.content


@pytest.mark.parametrize("signature", ["obs", "v4"])
def test_kms_with_the_sdk(obs_emulator: EmulatorProcess, bucket: str, signature: str) -> None:
    client = sdk(obs_emulator, signature)
    header = SseKmsHeader(encryption="kms", key=KMS_KEY)
    put = client.putContent(bucket, "kms", b"k", headers=PutObjectHeader(sseHeader=header))
    assert put.status == 200, put.errorCode
    expected_key = KMS_KEY if signature == "obs" else "arn:aws:kms:" + KMS_KEY
    assert (put.body.sseKms, put.body.sseKmsKey) == ("kms" if signature == "obs" else "aws:kms", expected_key)
    meta = client.getObjectMetadata(bucket, "kms")
    assert (meta.body.sseKms, meta.body.sseKmsKey) == (put.body.sseKms, expected_key)


# -- default bucket encryption ------------------------------------------------------------------


def test_bucket_default_encryption_with_boto3(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    absent = client_error(boto.get_bucket_encryption, Bucket=bucket)
    assert (absent["Status"], absent["Code"]) == (404, "ServerSideEncryptionConfigurationNotFoundError")
    configuration = {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY},
                "BucketKeyEnabled": True,
            }
        ]
    }
    boto.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=configuration)
    got = boto.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert got == configuration

    put = boto.put_object(Bucket=bucket, Key="defaulted", Body=b"d")
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"]) == ("aws:kms", "arn:aws:kms:" + KMS_KEY)
    assert boto.head_object(Bucket=bucket, Key="defaulted")["ServerSideEncryption"] == "aws:kms"
    explicit = boto.put_object(Bucket=bucket, Key="explicit", Body=b"e", ServerSideEncryption="AES256")
    assert explicit["ServerSideEncryption"] == "AES256"
    key = os.urandom(32)
    sealed = boto.put_object(Bucket=bucket, Key="sealed", Body=b"s", **sse_c(key))
    assert "ServerSideEncryption" not in sealed and sealed["SSECustomerAlgorithm"] == "AES256"

    boto.delete_bucket_encryption(Bucket=bucket)
    assert client_error(boto.get_bucket_encryption, Bucket=bucket)["Status"] == 404
    assert "ServerSideEncryption" not in boto.put_object(Bucket=bucket, Key="after", Body=b"a")

    wrong_algorithm = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "DES"}}]}
    failed = client_error(
        boto.put_bucket_encryption, Bucket=bucket, ServerSideEncryptionConfiguration=wrong_algorithm
    )
    assert (failed["Status"], failed["Code"]) == (400, "MalformedXML")
    key_without_kms = {
        "Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": KMS_KEY}}
        ]
    }
    failed = client_error(
        boto.put_bucket_encryption, Bucket=bucket, ServerSideEncryptionConfiguration=key_without_kms
    )
    assert (failed["Status"], failed["Code"]) == (400, "InvalidArgument")


@pytest.mark.parametrize("signature", ["obs", "v2"])
def test_bucket_default_encryption_with_the_sdk(obs_emulator: EmulatorProcess, signature: str) -> None:
    client = sdk(obs_emulator, signature)
    bucket = f"enc-{signature}-{uuid.uuid4().hex[:12]}"
    assert client.createBucket(bucket, location="cn-north-4").status == 200
    assert client.getBucketEncryption(bucket).status == 404
    assert client.setBucketEncryption(bucket, "kms", KMS_KEY).status == 200
    got = client.getBucketEncryption(bucket)
    assert got.status == 200
    expected_key = KMS_KEY if signature == "obs" else "arn:aws:kms:" + KMS_KEY
    assert (got.body.encryption, got.body.key) == ("kms", KMS_KEY)  # the SDK drops S3's "aws:"
    put = client.putContent(bucket, "defaulted", b"d")
    assert put.body.sseKmsKey == expected_key
    assert client.deleteBucketEncryption(bucket).status == 204
    assert client.getBucketEncryption(bucket).status == 404


def test_configurations_and_sealed_objects_survive_a_restart(fresh_emulator: EmulatorProcess) -> None:
    boto = s3(fresh_emulator)
    boto.create_bucket(Bucket="durable-enc")
    configuration = {
        "Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
        ]
    }
    boto.put_bucket_encryption(Bucket="durable-enc", ServerSideEncryptionConfiguration=configuration)
    key = os.urandom(32)
    upload = boto.create_multipart_upload(Bucket="durable-enc", Key="mp", **sse_c(key))
    data = os.urandom(200_000)
    part = boto.upload_part(
        Bucket="durable-enc", Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=data, **sse_c(key)
    )

    fresh_emulator.kill()
    fresh_emulator.start()
    got = boto.get_bucket_encryption(Bucket="durable-enc")["ServerSideEncryptionConfiguration"]
    assert got == configuration
    assert boto.put_object(Bucket="durable-enc", Key="new", Body=b"n")["ServerSideEncryption"] == "AES256"
    boto.complete_multipart_upload(
        Bucket="durable-enc",
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert boto.get_object(Bucket="durable-enc", Key="mp", **sse_c(key))["Body"].read() == data
