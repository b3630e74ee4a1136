// `scintigen reader serve`: the reading pages and their JSON API over HTTP(S), on cpp-httplib
// (docs/READER.md "The server" lists every route and the threat model).
//
//   ServeConfig c;  c.study = "study";  c.port = 8080;
//   Server s(c);                 // opens the study; binds (port 0 = any free port)
//   int port = s.port();
//   s.run();                     // until stop() (another thread or a signal handler)
//
// Blinding: images leave as stored at create (uncompressed 8-bit PNGs of one size); no
// response carries an origin, a label, a dataset or a scan id.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/progress.h"

namespace scintigen::reader {

struct ServeConfig {
  std::string study;
  std::string host = "127.0.0.1";
  int port = 8080;                // 0 = any free port
  std::string tls_cert, tls_key;  // both or neither: HTTPS
  int threads = 32;               // worker threads (a browser holds up to 6 connections)
  size_t max_body = 16 * 1024;    // bytes of a request body
  void validate() const;
  nlohmann::json to_json() const;
};

class Server {
 public:
  explicit Server(const ServeConfig& config, EventSink* sink = nullptr);
  ~Server();
  int port() const;
  std::string url() const;  // http(s)://host:port/
  void run();               // blocks until stop()
  void stop();              // thread-safe, and safe in a signal handler's thread via a flag
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scintigen::reader
