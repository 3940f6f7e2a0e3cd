// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The Node.js baseline for lb-backend: the cluster module's "hello" server,
// one worker per CPU, each with its own in-process cache (Node workers
// share no memory).  Usage: node bench/node-cluster.js [PORT] [WORKERS]
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');
const os = require('node:os');

const port = Number(process.argv[2] || 8080);
const workers = Number(process.argv[3] || os.availableParallelism?.() || os.cpus().length);

if (cluster.isPrimary) {
	for (let i = 0; i < workers; i++)
		cluster.fork();
	cluster.on('exit', (w, code, signal) => {
		console.error(`worker ${w.process.pid} died (${signal || code}), restarting`);
		cluster.fork();
	});
} else {
	const cache = new Map(); // per worker: what lb-backend shares
	http.createServer((req, res) => {
		let body = cache.get(req.url);
		const hit = body !== undefined;
		if (!hit) {
			body = `Hello from worker ${process.pid}\n`;
			cache.set(req.url, body);
		}
		res.writeHead(200, {
			'Content-Type': 'text/plain',
			'Content-Length': Buffer.byteLength(body),
			'X-Cache': hit ? 'HIT' : 'MISS',
			'X-Served-By': `${os.hostname()}/${process.pid}`,
		});
		res.end(body);
	}).listen(port, '127.0.0.1');
}
