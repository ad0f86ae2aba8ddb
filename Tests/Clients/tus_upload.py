"""Uploads a file to QuikApp with tuspy (an independent tus 1.0 client), interrupted
and resumed as a real client would be:

  1. tuspy creates the upload and sends the first chunks;
  2. a PATCH is cut off half-way (the connection closes mid-body);
  3. a new tuspy uploader resumes from the server's offset (HEAD) and finishes.

Prints the upload URL on the last line. Usage:
  tus_upload.py <base_url> <token> <workspace_id> <file> <chunk_size> <chunks_before_cut>
"""
import http.client
import sys
import urllib.parse

from tusclient import client

base, token, workspace, path, chunk_size, before_cut = sys.argv[1:7]
chunk_size, before_cut = int(chunk_size), int(before_cut)
headers = {"Authorization": "Bearer " + token}
endpoint = base + "/api/v1/files/uploads"

first = client.TusClient(endpoint, headers=headers)
uploader = first.uploader(path, chunk_size=chunk_size, metadata={"filename": "photo.jpg", "filetype": "image/jpeg", "workspace_id": workspace})
for _ in range(before_cut):
    uploader.upload_chunk()
url = uploader.url
print("sent", uploader.offset, "bytes to", url, flush=True)

# A chunk cut off half-way: the server keeps none of it.
parsed = urllib.parse.urlparse(base)
connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
connection.putrequest("PATCH", urllib.parse.urlparse(url).path if url.startswith("http") else url)
connection.putheader("Authorization", "Bearer " + token)
connection.putheader("Tus-Resumable", "1.0.0")
connection.putheader("Content-Type", "application/offset+octet-stream")
connection.putheader("Upload-Offset", str(uploader.offset))
connection.putheader("Content-Length", str(chunk_size))
connection.endheaders()
with open(path, "rb") as source:
    source.seek(uploader.offset)
    connection.send(source.read(chunk_size // 2))
connection.sock.close()
print("cut a chunk off after", chunk_size // 2, "bytes", flush=True)

second = client.TusClient(endpoint, headers=headers)
resumed = second.uploader(path, url=url if url.startswith("http") else base + url, chunk_size=chunk_size)
print("resuming at", resumed.offset, flush=True)
resumed.upload()
print(url)
