"""Medusa's upload of the same files (cassandra-medusa, its own venv): its S3 storage driver's
upload_blobs, which `medusa backup-node` uploads a snapshot's files with, at the same concurrency
and part size as the uploader, its 50 MB/s default bandwidth cap lifted. Medusa's own backup also
lists and hashes what is stored first: this measures its upload alone (in its favour).
   medusa_upload.py <endpoint host> <port> <bucket> <credentials file> <files dir> <concurrency>
Prints "figure medusa_seconds <s>"."""
import os
import pathlib
import sys
import tempfile
import time

from medusa.config import load_config
from medusa.storage import Storage


def main():
    host, port, bucket, key_file, files, concurrency = sys.argv[1:7]
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as ini:
        ini.write(f"""[storage]
storage_provider = s3_compatible
bucket_name = {bucket}
key_file = {key_file}
host = {host}
port = {port}
secure = False
region = us-east-1
concurrent_transfers = {concurrency}
multipart_chunksize = 16MB
multi_part_upload_threshold = 16MB
transfer_max_bandwidth = 100000MB/s
s3_addressing_style = path
prefix = medusa

[cassandra]

[monitoring]
""")
    config = load_config({}, pathlib.Path(ini.name))
    os.unlink(ini.name)
    srcs = sorted(os.path.join(files, f) for f in os.listdir(files))
    with Storage(config=config.storage) as storage:  # connects its S3 client
        t0 = time.monotonic()
        storage.storage_driver.upload_blobs(srcs, "medusa/c1-dc1-r1-0/data/bench/t-1")
        print(f"figure medusa_seconds {time.monotonic() - t0:.2f}")


if __name__ == "__main__":
    main()
