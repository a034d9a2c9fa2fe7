"""Streaming bodies (aws-chunked, signed chunks, trailers) and S3's additional checksums, through boto3,
pyarrow's S3FileSystem (the AWS C++ SDK), raw requests written from the SigV4 streaming specification,
and the OBS SDK reading back what they wrote."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from typing import Any

import botocore.exceptions
import crcmod
import pyarrow.fs as pafs
import pytest
from boto3.s3.transfer import TransferConfig
from obs_clients import aws_chunked, s3, sdk, signed

from huaweicloud_emulator.auth import ChunkSigner
from huaweicloud_emulator.auth.obs import _v4_signing_key
from huaweicloud_emulator.process import EmulatorProcess
from huaweicloud_emulator.services.obs import crc
from huaweicloud_emulator.services.obs.aws_chunked import AwsChunkedDecoder

KIB = 1024
MIB = 1024 * KIB
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"

# Independent implementations: zlib, crcmod's (C) CRC functions, hashlib.
_crc32c = crcmod.predefined.mkCrcFun("crc-32c")
_crc64nvme = crcmod.mkCrcFun(0x1AD93D23594C93659, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)
DIGESTS: dict[str, Any] = {
    "crc32": lambda data: zlib.crc32(data).to_bytes(4, "big"),
    "crc32c": lambda data: _crc32c(data).to_bytes(4, "big"),
    "crc64nvme": lambda data: _crc64nvme(data).to_bytes(8, "big"),
    "sha1": lambda data: hashlib.sha1(data).digest(),
    "sha256": lambda data: hashlib.sha256(data).digest(),
}


def checksum(algorithm: str, data: bytes) -> str:
    return base64.b64encode(DIGESTS[algorithm](data)).decode()


def error_code(response: Any) -> str:
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in response.text else ""


# -- the algorithms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "check"),
    [(crc.CRC32, 0xCBF43926), (crc.CRC32C, 0xE3069283), (crc.CRC64NVME, 0xAE8B14860A799888)],
)
def test_crcs_have_their_check_values_and_combine(spec: crc.CrcSpec, check: int) -> None:
    table = crc._table_update(spec)  # the pure-Python fallback
    assert crc.updater(spec)(b"123456789", 0) == table(b"123456789", 0) == check
    first, second = os.urandom(1000), os.urandom(70_001)
    whole = crc.updater(spec)(first + second, 0)
    assert crc.updater(spec)(second, crc.updater(spec)(first, 0)) == whole
    parts = [crc.updater(spec)(part, 0) for part in (first, second)]
    assert crc.combine(spec, parts[0], parts[1], len(second)) == whole


def test_chunk_signatures_follow_the_aws_example() -> None:
    """The worked example of AWS's "Transferring payload in multiple chunks" (sigv4-streaming)."""
    key = _v4_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3")
    seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    signer = ChunkSigner(key, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", seed)
    first = signer.chunk_signature(seed, hashlib.sha256(b"a" * 65536).hexdigest())
    assert first == "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
    second = signer.chunk_signature(first, hashlib.sha256(b"a" * 1024).hexdigest())
    assert second == "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
    final = signer.chunk_signature(second, hashlib.sha256(b"").hexdigest())
    assert final == "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"


def test_the_decoder_takes_a_body_cut_anywhere() -> None:
    payload = os.urandom(3000)
    wire = (
        b"7d0\r\n" + payload[:2000] + b"\r\n3e8\r\n" + payload[2000:] + b"\r\n0\r\n"
        b"x-amz-checksum-crc32:" + checksum("crc32", payload).encode() + b"\r\n\r\n"
    )
    decoder = AwsChunkedDecoder(signer=None, signed_trailer=False, decoded_length=len(payload))
    decoded = b"".join(bytes(piece) for i in range(len(wire)) for piece in decoder.feed(wire[i : i + 1]))
    assert decoded == payload
    assert decoder.finish() == {"x-amz-checksum-crc32": checksum("crc32", payload)}


# -- boto3 -----------------------------------------------------------------------------------------


def test_boto3_puts_are_checked_stored_and_returned(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    data = os.urandom(300 * KIB)
    put = boto.put_object(Bucket=bucket, Key="crc", Body=data)  # botocore sends CRC32 by default
    assert (put["ChecksumCRC32"], put["ChecksumType"]) == (checksum("crc32", data), "FULL_OBJECT")
    head = boto.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == checksum("crc32", data)
    assert "ChecksumCRC32" not in boto.head_object(Bucket=bucket, Key="crc")  # only when asked
    # botocore validates the CRC32 of what it reads against the header.
    assert boto.get_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")["Body"].read() == data
    ranged = boto.get_object(Bucket=bucket, Key="crc", Range="bytes=0-9", ChecksumMode="ENABLED")
    assert "ChecksumCRC32" not in ranged and ranged["Body"].read() == data[:10]
    for algorithm in ("SHA1", "SHA256"):
        put = boto.put_object(Bucket=bucket, Key="sha", Body=b"hello", ChecksumAlgorithm=algorithm)
        assert put[f"Checksum{algorithm}"] == checksum(algorithm.lower(), b"hello")
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        boto.put_object(Bucket=bucket, Key="crc", Body=b"other", ChecksumCRC32=checksum("crc32", b"x"))
    assert bad.value.response["Error"]["Code"] == "BadDigest"
    assert boto.get_object(Bucket=bucket, Key="crc")["Body"].read() == data  # the old object stays
    # The OBS SDK reads the same bytes.
    assert sdk(obs_emulator).getObject(bucket, "crc", loadStreamInMemory=True).body.buffer == data


def test_checksum_headers_are_checked_for_form(obs_emulator: EmulatorProcess, bucket: str) -> None:
    cases = [
        ({"x-amz-checksum-crc32": "not base64!"}, "InvalidRequest"),
        ({"x-amz-checksum-sha256": checksum("crc32", b"x")}, "InvalidRequest"),  # wrong length
        (
            {"x-amz-checksum-crc32": checksum("crc32", b"x"), "x-amz-checksum-sha1": checksum("sha1", b"x")},
            "InvalidRequest",
        ),
        ({"x-amz-sdk-checksum-algorithm": "CRC32"}, "InvalidRequest"),
        ({"x-amz-checksum-crc32c": checksum("crc32c", b"y")}, "BadDigest"),
    ]
    for headers, code in cases:
        response = signed(obs_emulator, "PUT", f"/{bucket}/form", body=b"x", headers=headers)
        assert (response.status_code, error_code(response)) == (400, code), headers
    response = signed(
        obs_emulator,
        "PUT",
        f"/{bucket}/form",
        body=b"x",
        headers={"x-amz-checksum-crc64nvme": checksum("crc64nvme", b"x")},
    )
    assert response.status_code == 200 and response.headers["x-amz-checksum-crc64nvme"] == checksum(
        "crc64nvme", b"x"
    )


def test_boto3_multipart_checksums(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    parts = [os.urandom(150 * KIB), os.urandom(150 * KIB), b"tail"]
    # A composite SHA-256: the checksum of the parts' checksums.
    upload = boto.create_multipart_upload(Bucket=bucket, Key="sha", ChecksumAlgorithm="SHA256")
    assert (upload["ChecksumAlgorithm"], upload["ChecksumType"]) == ("SHA256", "COMPOSITE")
    uploaded = []
    for number, data in enumerate(parts, start=1):
        part = boto.upload_part(
            Bucket=bucket,
            Key="sha",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="SHA256",
        )
        assert part["ChecksumSHA256"] == checksum("sha256", data)
        uploaded.append(
            {"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]}
        )
    listed = boto.list_parts(Bucket=bucket, Key="sha", UploadId=upload["UploadId"])
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == [checksum("sha256", d) for d in parts]
    assert listed["ChecksumAlgorithm"] == "SHA256"

    def complete(part_list: list[dict[str, Any]]) -> dict[str, Any]:
        return boto.complete_multipart_upload(
            Bucket=bucket, Key="sha", UploadId=upload["UploadId"], MultipartUpload={"Parts": part_list}
        )

    wrong = [dict(uploaded[0], ChecksumSHA256=checksum("sha256", b"no")), *uploaded[1:]]
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        complete(wrong)
    assert bad.value.response["Error"]["Code"] == "InvalidPart"
    missing = [{"PartNumber": 1, "ETag": uploaded[0]["ETag"]}, *uploaded[1:]]
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        complete(missing)
    assert bad.value.response["Error"]["Code"] == "InvalidRequest"
    done = complete(uploaded)
    composite = hashlib.sha256(b"".join(hashlib.sha256(d).digest() for d in parts)).digest()
    expected = base64.b64encode(composite).decode() + "-3"
    assert (done["ChecksumSHA256"], done["ChecksumType"]) == (expected, "COMPOSITE")
    assert boto.head_object(Bucket=bucket, Key="sha", ChecksumMode="ENABLED")["ChecksumSHA256"] == expected

    # A full-object CRC32, sent with the completion and checked against the parts' combined CRCs.
    upload = boto.create_multipart_upload(
        Bucket=bucket, Key="full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )
    mismatch = signed(
        obs_emulator,
        "PUT",
        f"/{bucket}/full?partNumber=1&uploadId={upload['UploadId']}",
        body=b"x",
        headers={"x-amz-checksum-sha1": checksum("sha1", b"x")},
    )
    assert (mismatch.status_code, error_code(mismatch)) == (400, "InvalidRequest")
    uploaded = []
    for number, data in enumerate(parts, start=1):
        part = boto.upload_part(
            Bucket=bucket, Key="full", UploadId=upload["UploadId"], PartNumber=number, Body=data
        )
        uploaded.append({"PartNumber": number, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]})
    whole = checksum("crc32", b"".join(parts))
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        boto.complete_multipart_upload(
            Bucket=bucket,
            Key="full",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": uploaded},
            ChecksumCRC32=checksum("crc32", b"other"),
            ChecksumType="FULL_OBJECT",
        )
    assert bad.value.response["Error"]["Code"] == "BadDigest"
    done = boto.complete_multipart_upload(
        Bucket=bucket,
        Key="full",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": uploaded},
        ChecksumCRC32=whole,
        ChecksumType="FULL_OBJECT",
    )
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    got = boto.get_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")  # validated by botocore
    assert got["Body"].read() == b"".join(parts) and got["ChecksumCRC32"] == whole


def test_boto3_transfer_manager_upload(obs_emulator: EmulatorProcess, bucket: str, tmp_path: Any) -> None:
    data = os.urandom(11 * MIB)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    boto = s3(obs_emulator)
    boto.upload_file(
        str(path),
        bucket,
        "big",
        Config=TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB),
    )
    head = boto.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    pieces = [data[i : i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
    composite = zlib.crc32(b"".join(DIGESTS["crc32"](piece) for piece in pieces)).to_bytes(4, "big")
    assert head["ChecksumCRC32"] == f"{base64.b64encode(composite).decode()}-3"
    assert boto.get_object(Bucket=bucket, Key="big")["Body"].read() == data


# -- aws-chunked -----------------------------------------------------------------------------------


def test_unsigned_trailers_with_every_algorithm(obs_emulator: EmulatorProcess, bucket: str) -> None:
    boto = s3(obs_emulator)
    for size in (1000, 1536 * KIB):  # taken whole / streamed through a worker thread
        data = os.urandom(size)
        pieces = [data[i : i + 64 * KIB] for i in range(0, size, 64 * KIB)]
        for algorithm in DIGESTS:
            response = aws_chunked(
                obs_emulator,
                "PUT",
                f"/{bucket}/{algorithm}",
                pieces,
                scheme=UNSIGNED_TRAILER,
                decoded_length=size,
                trailers={f"x-amz-checksum-{algorithm}": checksum(algorithm, data)},
                headers={"Content-Type": "text/x-chunked"},
                stream=size > MIB,
            )
            assert response.status_code == 200, response.text
            assert response.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
            head = boto.head_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
            assert head[f"Checksum{algorithm.upper()}"] == checksum(algorithm, data)
            assert head["ContentLength"] == size and head["ContentType"] == "text/x-chunked"
            assert "ContentEncoding" not in head  # aws-chunked is not the object's encoding
            assert boto.get_object(Bucket=bucket, Key=algorithm)["Body"].read() == data


@pytest.mark.parametrize("scheme", [SIGNED, SIGNED_TRAILER])
def test_signed_chunks(obs_emulator: EmulatorProcess, bucket: str, scheme: str) -> None:
    data = os.urandom(300 * KIB)  # streamed through a worker thread
    pieces = [data[i : i + 64 * KIB] for i in range(0, len(data), 64 * KIB)]
    trailers = {"x-amz-checksum-crc32c": checksum("crc32c", data)} if scheme == SIGNED_TRAILER else None
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()

    def put(key: str, tamper: str = "", stream: bool = False) -> Any:
        return aws_chunked(
            obs_emulator,
            "PUT",
            f"/{bucket}/{key}",
            pieces,
            scheme=scheme,
            decoded_length=len(data),
            trailers=trailers,
            headers={"Content-MD5": md5},
            tamper=tamper,
            stream=stream,
        )

    assert put("signed").status_code == 200
    assert put("streamed", stream=True).status_code == 200
    for key in ("signed", "streamed"):
        assert sdk(obs_emulator).getObject(bucket, key, loadStreamInMemory=True).body.buffer == data
    for tamper in ("chunk", "trailer") if trailers else ("chunk",):
        refused = put("tampered", tamper)
        assert (refused.status_code, error_code(refused)) == (403, "SignatureDoesNotMatch")
    assert s3(obs_emulator).list_objects_v2(Bucket=bucket)["KeyCount"] == 2  # nothing partial


def test_broken_streams_are_refused(obs_emulator: EmulatorProcess, bucket: str) -> None:
    data = os.urandom(100 * KIB)

    def put(pieces: list[bytes], length: int, trailers: dict[str, str] | None, **headers: str) -> Any:
        return aws_chunked(
            obs_emulator,
            "PUT",
            f"/{bucket}/broken",
            pieces,
            scheme=UNSIGNED_TRAILER,
            decoded_length=length,
            trailers=trailers,
            headers=headers,
        )

    good = {"x-amz-checksum-crc32": checksum("crc32", data)}
    assert put([data], len(data), good).status_code == 200
    cases = [
        (put([data], len(data), {"x-amz-checksum-crc32": checksum("crc32", b"x")}), 400, "BadDigest"),
        (put([data], len(data) + 1, good), 400, "IncompleteBody"),
        (put([data, b"!"], len(data), good), 400, "IncompleteBody"),
        (put([data], len(data), good, **{"x-amz-trailer": "x-amz-checksum-sha1"}), 400, "IncompleteBody"),
        (put([data], len(data), good, **{"x-amz-trailer": "x-amz-meta-x"}), 400, "InvalidRequest"),
        (
            put([data], len(data), good, **{"Content-MD5": base64.b64encode(b"0" * 16).decode()}),
            400,
            "BadDigest",
        ),
    ]
    for response, status, code in cases:
        assert (response.status_code, error_code(response)) == (status, code), response.text
    response = signed(
        obs_emulator,
        "PUT",
        f"/{bucket}/broken",
        body=b"0\r\n\r\n",
        headers={"x-amz-content-sha256": "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"},
    )
    assert (response.status_code, error_code(response)) == (501, "NotImplemented")
    assert s3(obs_emulator).get_object(Bucket=bucket, Key="broken")["Body"].read() == data


# -- pyarrow: the AWS C++ SDK ----------------------------------------------------------------------


def test_pyarrow_multipart_upload_and_read_back(obs_emulator: EmulatorProcess, bucket: str) -> None:
    filesystem = pafs.S3FileSystem(
        access_key=obs_emulator.access_key,
        secret_key=obs_emulator.secret_key,
        endpoint_override=obs_emulator.base_url.removeprefix("http://"),
        scheme="http",
        region="cn-north-4",
    )
    data = os.urandom(12 * MIB)  # aws-chunked parts with CRC64NVME trailers
    with filesystem.open_output_stream(f"{bucket}/arrow/big.bin") as stream:
        stream.write(data)
    with filesystem.open_output_stream(f"{bucket}/arrow/small.txt") as stream:
        stream.write(b"hello")
    with filesystem.open_input_stream(f"{bucket}/arrow/big.bin") as stream:
        assert stream.read() == data
    info = filesystem.get_file_info(pafs.FileSelector(f"{bucket}/arrow"))
    assert sorted((i.base_name, i.size) for i in info) == [("big.bin", len(data)), ("small.txt", 5)]
    head = s3(obs_emulator).head_object(Bucket=bucket, Key="arrow/big.bin", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (checksum("crc64nvme", data), "FULL_OBJECT")
    assert head["ETag"].endswith('-2"')  # two parts
    assert (
        sdk(obs_emulator).getObject(bucket, "arrow/small.txt", loadStreamInMemory=True).body.buffer
        == b"hello"
    )
    filesystem.delete_dir(f"{bucket}/arrow")
    assert s3(obs_emulator).list_objects_v2(Bucket=bucket)["KeyCount"] == 0
