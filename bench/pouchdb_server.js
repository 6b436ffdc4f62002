// The peer server of the side-by-side benchmark (bench/sidebyside.py): express-pouchdb on an
// in-process PouchDB whose databases are LevelDB directories on disk (PouchDB's Node adapter),
// the fair counterpart of offsync's SQLite file.
//
//   node bench/pouchdb_server.js --port N --dir DIR
//
// The bench page is served by the offsync bench server (another origin), so this server answers
// CORS itself, as a CouchDB set up for PouchDB does; the preflight answer is cached by the
// browser (Access-Control-Max-Age), so steady replication sends no extra OPTIONS requests.
// Proxying through the Python server instead would add a hop that neither engine has in use.
"use strict";

const path = require("path");
const express = require("express");
const PouchDB = require("pouchdb");
const expressPouchDB = require("express-pouchdb");

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at >= 0 && at + 1 < process.argv.length) return process.argv[at + 1];
  if (fallback === undefined) throw new Error(`missing --${name}`);
  return fallback;
}

const port = Number(option("port"));
const dir = path.resolve(option("dir"));
const Pouch = PouchDB.defaults({ prefix: dir + path.sep });

const app = express();
app.use((req, res, next) => {
  const origin = req.headers.origin;
  if (origin) {
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Access-Control-Allow-Credentials", "true");
    res.setHeader("Vary", "Origin");
  }
  if (req.method === "OPTIONS") {
    res.setHeader("Access-Control-Allow-Methods", "GET, PUT, POST, HEAD, DELETE");
    res.setHeader("Access-Control-Allow-Headers",
                  req.headers["access-control-request-headers"] || "accept, content-type");
    res.setHeader("Access-Control-Max-Age", "7200");
    res.statusCode = 204;
    return res.end();
  }
  return next();
});
app.use("/", expressPouchDB(Pouch, {
  mode: "minimumForPouchDB",
  configPath: path.join(dir, "config.json"),
  logPath: path.join(dir, "log.txt"),
}));

const server = app.listen(port, "127.0.0.1", () => {
  // the harness waits for this line
  console.log(`pouchdb server listening on http://127.0.0.1:${server.address().port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
