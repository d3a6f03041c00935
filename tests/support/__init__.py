"""Helpers written once for every test (and bench) that needs them.

ports      free loopback ports, refused URLs
env        a clean environment for child processes; `run_manage`
servers    a real server process (runserver or `make serve`'s gunicorn) and its log
postgres   throwaway PostgreSQL databases on the local server
cloudinary_emulator  the loopback Cloudinary the real SDK talks to
fault_proxy  a loopback proxy that counts requests and injects faults (S3, Azure, the API)
"""
