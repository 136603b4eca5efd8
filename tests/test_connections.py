"""The server holds thousands of open connections at once (the dashboard's live updates and many
NAS and device agents keep connections open), and still answers each of them."""
import resource
import socket
import unittest

from harness import Server

CONNECTIONS = 3000


class ConnectionsTest(unittest.TestCase):
    def test_thousands_of_open_connections_all_answered(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = CONNECTIONS + 200
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < want:
            self.skipTest(f"this process may open only {hard} files")
        with Server() as srv:
            host, port = srv.url.split("//")[1].split(":")
            socks = []
            try:
                # Open them all first, so that they are all open at the same time.
                for _ in range(CONNECTIONS):
                    s = socket.create_connection((host, int(port)), timeout=30)
                    socks.append(s)
                req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                for s in socks:
                    s.sendall(req)
                answered = 0
                for s in socks:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if data.startswith(b"HTTP/1.1 200"):
                        answered += 1
                self.assertEqual(answered, CONNECTIONS)
                metrics = srv.get("/metrics", token=False).body
                open_now = [l for l in metrics.splitlines()
                            if l.startswith("ryuryo_http_connections ")]
                self.assertTrue(open_now)
                self.assertGreaterEqual(int(open_now[0].split()[1]), CONNECTIONS)
            finally:
                for s in socks:
                    s.close()


if __name__ == "__main__":
    unittest.main()
