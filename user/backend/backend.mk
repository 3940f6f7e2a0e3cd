# lb-backend: the pre-forked HTTP server (user/backend).
