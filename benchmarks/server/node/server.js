// SPDX-License-Identifier: MIT
// A comparison server for benchmarks/server: the subset of protocol.md that qtpush-bench-loadgen
// uses, written the way most Node users would write it, on the `ws` package and node:http.
//
//   WebSocket  GET  /v1/sessions/{s}/clients/{c}/ws      text frame {"op":"push","data":DATA}
//   SSE        GET  /v1/sessions/{s}/clients/{c}/events
//   long-poll  GET  /v1/sessions/{s}/clients/{c}/pull[?wait=SECONDS]
//   push       POST /v1/sessions/{s}/push                -> {"id":ID,"clients":N}
//   GET /healthz
//
// Every client of a session gets {"id":ID,"session":"S","data":DATA}, ids increasing per
// session. A long-poll client keeps a bounded buffer between polls (a gap frame when it
// overflows) and is forgotten after 60 s without a poll. No since=, tokens or grace period:
// the benchmark does not use them.
//
// Run: NODE_PATH=/usr/share/nodejs node server.js [--host 127.0.0.1] [--port 0]
// Prints "listening on http://HOST:PORT" once it accepts connections.
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

const POLL_BUFFER = 1024; // messages a long-poll client holds between polls
const POLL_FORGET_MS = 60000;
const MAX_MESSAGE_BYTES = 64 * 1024;

function option(name, fallback) {
    const i = process.argv.indexOf('--' + name);
    return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const sessions = new Map(); // id -> { id, lastId, clients: Map(clientId -> client) }

function session(id) {
    let s = sessions.get(id);
    if (!s) {
        s = { id, lastId: 0, clients: new Map() };
        sessions.set(id, s);
    }
    return s;
}

function removeClient(s, client) {
    if (s.clients.get(client.id) === client)
        s.clients.delete(client.id);
    if (s.clients.size === 0)
        sessions.delete(s.id);
}

// A client replaces an earlier one with the same id (a reconnect).
function addClient(s, client) {
    const old = s.clients.get(client.id);
    if (old)
        old.close();
    s.clients.set(client.id, client);
}

function push(s, data) {
    const id = ++s.lastId;
    const text = JSON.stringify({ id, session: s.id, data });
    for (const client of s.clients.values())
        client.deliver(id, text);
    return { id, clients: s.clients.size };
}

function sendError(res, status, code, message) {
    const body = JSON.stringify({ error: { code, message } });
    res.writeHead(status, { 'Content-Type': 'application/json',
                            'Content-Length': Buffer.byteLength(body) });
    res.end(body);
}

function sendJson(res, value) {
    const body = typeof value === 'string' ? value : JSON.stringify(value);
    res.writeHead(200, { 'Content-Type': 'application/json',
                         'Content-Length': Buffer.byteLength(body) });
    res.end(body);
}

class WsClient {
    constructor(id, ws) { this.id = id; this.ws = ws; }
    deliver(id, text) { this.ws.send(text); }
    close() { this.ws.close(1000); }
}

class SseClient {
    constructor(id, res) { this.id = id; this.res = res; }
    deliver(id, text) { this.res.write(`id: ${id}\ndata: ${text}\n\n`); }
    close() { this.res.end(); }
}

class PollClient {
    constructor(id, s) {
        this.id = id;
        this.session = s;
        this.buffer = [];
        this.res = null;
        this.timer = null;
        this.forget = null;
        this.dropped = null; // [from, to] of messages lost to overflow
        this.touch();
    }
    touch() {
        clearTimeout(this.forget);
        this.forget = setTimeout(() => removeClient(this.session, this), POLL_FORGET_MS);
    }
    deliver(id, text) {
        if (this.buffer.length === POLL_BUFFER) {
            const oldId = this.buffer.shift().id;
            this.dropped = this.dropped ? [this.dropped[0], oldId] : [oldId, oldId];
        }
        this.buffer.push({ id, text });
        if (this.res)
            this.flush();
    }
    flush() {
        const parts = this.buffer.map(message => message.text);
        if (this.dropped)
            parts.unshift(JSON.stringify({ type: 'gap', from: this.dropped[0], to: this.dropped[1] }));
        this.buffer = [];
        this.dropped = null;
        clearTimeout(this.timer);
        const res = this.res;
        this.res = null;
        sendJson(res, '[' + parts.join(',') + ']');
        this.touch();
    }
    wait(res, seconds) {
        if (this.res) // a second poll of the same client ends the first one
            this.flush();
        this.res = res;
        res.on('close', () => {
            if (this.res === res) {
                this.res = null;
                clearTimeout(this.timer);
            }
        });
        if (this.buffer.length > 0 || this.dropped) {
            this.flush();
            return;
        }
        this.timer = setTimeout(() => { if (this.res === res) this.flush(); }, seconds * 1000);
    }
    close() {
        clearTimeout(this.forget);
        if (this.res)
            this.flush();
    }
}

const clientPath = /^\/v1\/sessions\/([^/]+)\/clients\/([^/]+)\/(ws|events|pull)$/;
const pushPath = /^\/v1\/sessions\/([^/]+)\/push$/;

function parseIds(match) {
    try {
        return [decodeURIComponent(match[1]), decodeURIComponent(match[2])];
    } catch (e) {
        return null;
    }
}

const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/healthz') {
        res.writeHead(200, { 'Content-Length': 0 });
        res.end();
        return;
    }
    let match = pushPath.exec(url.pathname);
    if (match) {
        if (req.method !== 'POST')
            return sendError(res, 405, 'method_not_allowed', 'use POST');
        let sessionId;
        try {
            sessionId = decodeURIComponent(match[1]);
        } catch (e) {
            return sendError(res, 400, 'bad_request', 'bad session id');
        }
        const chunks = [];
        let size = 0;
        req.on('data', chunk => {
            size += chunk.length;
            if (size <= MAX_MESSAGE_BYTES)
                chunks.push(chunk);
        });
        req.on('end', () => {
            if (size > MAX_MESSAGE_BYTES)
                return sendError(res, 413, 'too_large', 'message too large');
            const body = Buffer.concat(chunks).toString('utf8');
            let data = body;
            if ((req.headers['content-type'] || '').startsWith('application/json')) {
                try {
                    data = JSON.parse(body);
                } catch (e) {
                    return sendError(res, 400, 'bad_request', 'body is not JSON');
                }
            }
            sendJson(res, push(session(sessionId), data));
        });
        return;
    }
    match = clientPath.exec(url.pathname);
    if (!match)
        return sendError(res, 404, 'not_found', 'no such path');
    if (req.method !== 'GET')
        return sendError(res, 405, 'method_not_allowed', 'use GET');
    const ids = parseIds(match);
    if (!ids)
        return sendError(res, 400, 'bad_request', 'bad id');
    const s = session(ids[0]);
    if (match[3] === 'events') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
        res.flushHeaders();
        const client = new SseClient(ids[1], res);
        addClient(s, client);
        res.on('close', () => removeClient(s, client));
    } else if (match[3] === 'pull') {
        let client = s.clients.get(ids[1]);
        if (!(client instanceof PollClient)) {
            client = new PollClient(ids[1], s);
            addClient(s, client);
        }
        const wait = Math.min(Math.max(Number(url.searchParams.get('wait') ?? 30) || 0, 0), 60);
        client.wait(res, wait);
    } else {
        sendError(res, 400, 'bad_request', 'WebSocket upgrade expected');
    }
});

const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES + 64 });

server.on('upgrade', (req, socket, head) => {
    const match = clientPath.exec(new URL(req.url, 'http://localhost').pathname);
    const ids = match && match[3] === 'ws' ? parseIds(match) : null;
    if (!ids) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
    }
    wss.handleUpgrade(req, socket, head, ws => {
        const s = session(ids[0]);
        const client = new WsClient(ids[1], ws);
        addClient(s, client);
        ws.on('message', (message, isBinary) => {
            let frame;
            try {
                frame = JSON.parse(message.toString());
            } catch (e) {
                frame = null;
            }
            if (isBinary || !frame || frame.op !== 'push' || !('data' in frame)) {
                ws.send(JSON.stringify({ error: { code: 'bad_request', message: 'expected {"op":"push","data":...}' } }));
                return;
            }
            push(s, frame.data);
        });
        ws.on('close', () => removeClient(s, client));
        ws.on('error', () => {});
    });
});

const host = option('host', '127.0.0.1');
server.listen(Number(option('port', '0')), host, () => {
    console.log(`listening on http://${host}:${server.address().port}`);
});

function stop() {
    server.close();
    process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
