"""annealrbm data fetch: download, check and store binarized MNIST, tested offline against a
server on 127.0.0.1 (small files, a bad checksum, a download cut short)."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from annealrbm.data import datasets, fetch
from annealrbm.cli import main

RNG = np.random.default_rng(0)
SMALL = {split: (RNG.random((rows, 784)) < 0.2).astype(np.uint8) for split, rows in
         (("train", 30), ("valid", 10), ("test", 10))}
DIGESTS = {split: fetch.packed_digest(images) for split, images in SMALL.items()}


def amat(images: np.ndarray) -> bytes:
    return "\n".join(" ".join(map(str, row)) for row in images).encode() + b"\n"


@pytest.fixture
def server():
    """Serves /ok/binarized_mnist_<split>.amat and /cut/... (Content-Length larger than the body)."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            mode, name = self.path.strip("/").split("/")
            split = name.removeprefix("binarized_mnist_").removesuffix(".amat")
            if split not in SMALL:
                self.send_error(404)
                return
            body = amat(SMALL[split])
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + (1000 if mode == "cut" else 0)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_fetch_stores_checked_splits_that_the_loader_reads(server, tmp_path):
    path = fetch.fetch_mnist(tmp_path, url=f"{server}/ok", expected_sha256=DIGESTS, timeout=10)
    for split, images in SMALL.items():
        assert np.array_equal(datasets.load_binarized_mnist(path, split), images)


def test_a_bad_checksum_stores_nothing(server, tmp_path):
    with pytest.raises(ValueError, match="fails its checksum"):
        fetch.fetch_mnist(tmp_path, url=f"{server}/ok", timeout=10)  # the real MNIST digests
    assert not fetch.cached_mnist_path(tmp_path).exists()


def test_an_interrupted_download_stores_nothing(server, tmp_path):
    with pytest.raises(ValueError, match="cut short|failed"):
        fetch.fetch_mnist(tmp_path, url=f"{server}/cut", expected_sha256=DIGESTS, timeout=5)
    assert not fetch.cached_mnist_path(tmp_path).exists()


def test_cli_fetch_errors_are_one_line_and_dataset_mnist_uses_the_cache(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANNEALRBM_DATA_DIR", str(tmp_path))
    assert main(["train", "--dataset", "mnist", "--epochs", "1"]) == 2
    assert "annealrbm data fetch mnist" in capsys.readouterr().err
    assert main(["--quiet", "data", "fetch", "mnist", "--url", f"{server}/ok"]) == 2  # the small files fail the real checksums
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fails its checksum" in err
    fetch.fetch_mnist(url=f"{server}/ok", expected_sha256=DIGESTS, timeout=10)  # into ANNEALRBM_DATA_DIR
    assert main(["data", "fetch", "mnist"]) == 0 and "already" in capsys.readouterr().out
    train, valid = datasets.load_splits("mnist")
    assert train.shape == (30, 784) and valid.shape == (10, 784)
