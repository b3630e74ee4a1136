// `reader serve` (see server.h and docs/READER.md "The server's routes").

#include "reader/server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <string_view>

#include "core/error.h"
#include "reader/store.h"
#include "reader/study.h"

namespace scintigen::reader {

// The pages under web/reader, compiled in (embed_assets.cmake); empty for an unknown name.
std::string_view web_asset(std::string_view name);

namespace {

constexpr const char* kCookie = "scintigen_session";
constexpr const char* kJson = "application/json";

// Every response: no caching of answers or images, no framing, no content sniffing, no
// referrer, and only this origin's own script, style and images.
httplib::Headers security_headers() {
  return {{"Cache-Control", "no-store"},
          {"X-Content-Type-Options", "nosniff"},
          {"X-Frame-Options", "DENY"},
          {"Referrer-Policy", "no-referrer"},
          {"Content-Security-Policy",
           "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; "
           "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"}};
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

// The token from "Authorization: Bearer <token>", else from the session cookie; "" if neither.
std::string request_token(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) return auth.substr(7);
  const std::string cookies = req.get_header_value("Cookie");
  const std::string key = std::string(kCookie) + "=";
  size_t pos = 0;
  while (pos < cookies.size()) {
    while (pos < cookies.size() && (cookies[pos] == ' ' || cookies[pos] == ';')) ++pos;
    size_t end = cookies.find(';', pos);
    if (end == std::string::npos) end = cookies.size();
    if (cookies.compare(pos, key.size(), key) == 0) return cookies.substr(pos + key.size(), end - pos - key.size());
    pos = end;
  }
  return "";
}

// A JSON integer (not a boolean, not a fraction) in [lo, hi].
bool int_in(const nlohmann::json& v, int lo, int hi) {
  return v.is_number_integer() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
}

}  // namespace

void ServeConfig::validate() const {
  if (study.empty()) throw ConfigError("STUDY", "is required", "the folder reader create made");
  if (port < 0 || port > 65535) throw ConfigError("--port", fmt::format("{} is not a port", port), "use 0..65535");
  if (tls_cert.empty() != tls_key.empty())
    throw ConfigError(tls_cert.empty() ? "--tls-cert" : "--tls-key", "is missing",
                      "HTTPS needs both --tls-cert and --tls-key");
  for (const auto* f : {&tls_cert, &tls_key})
    if (!f->empty() && !std::filesystem::is_regular_file(*f))
      throw ConfigError(f == &tls_cert ? "--tls-cert" : "--tls-key", fmt::format("'{}' is not a file", *f));
  if (threads < 1 || threads > 1024) throw ConfigError("--threads", fmt::format("{} is out of range 1..1024", threads));
  if (max_body < 64 || max_body > (1u << 20))
    throw ConfigError("--max-body", fmt::format("{} bytes is out of range 64..1048576", max_body));
}

nlohmann::json ServeConfig::to_json() const {
  return {{"study", study},           {"host", host},       {"port", port},
          {"tls", !tls_cert.empty()}, {"threads", threads}, {"max_body", max_body}};
}

struct Server::Impl {
  ServeConfig config;
  EventSink* sink = nullptr;
  StudyStore store;
  std::unique_ptr<httplib::Server> http;
  int port = 0;
  bool tls = false;
  std::string task;
  std::atomic<bool> stopping{false};

  explicit Impl(const ServeConfig& c, EventSink* s) : config(c), sink(s), store(StudyStore::open(c.study)) {
    task = store.task();
  }

  // The reader behind the request's token, or nullopt after answering 401 (or 403 when the
  // token is valid but the role is not `role`).
  std::optional<StudyReader> authorise(const httplib::Request& req, httplib::Response& res, const char* role) {
    const std::string token = request_token(req);
    std::optional<StudyReader> r = token.empty() ? std::nullopt : store.reader_for_token(token);
    if (!r) {
      send_error(res, 401, token.empty() ? "sign in with your token" : "this token is not valid for this study");
      return std::nullopt;
    }
    if (r->role != role) {
      send_error(res, 403,
                 fmt::format("this page is for the {}", role == std::string("reader") ? "readers" : "coordinator"));
      return std::nullopt;
    }
    return r;
  }

  // 1-based position of the first unanswered case, or 0 when all are answered; and the count.
  std::pair<size_t, size_t> next_and_answered(const std::string& reader) {
    const auto& order = store.order(reader);
    std::set<std::string> done;
    for (const auto& a : store.answers_of(reader)) done.insert(a.case_id);
    for (size_t k = 0; k < order.size(); ++k)
      if (!done.count(order[k])) return {k + 1, done.size()};
    return {0, done.size()};
  }

  nlohmann::json state_json(const std::string& reader) {
    const auto [next, answered] = next_and_answered(reader);
    return {{"reader", reader},
            {"task", task},
            {"n", store.n()},
            {"answered", answered},
            {"next", next == 0 ? nlohmann::json() : nlohmann::json(next)}};
  }

  bool reader_has_case(const std::string& reader, const std::string& case_id) {
    const auto& order = store.order(reader);
    return std::find(order.begin(), order.end(), case_id) != order.end();
  }

  void page(const char* pattern, const char* asset, const char* type) {
    http->Get(pattern, [asset, type](const httplib::Request&, httplib::Response& res) {
      const std::string_view body = web_asset(asset);
      res.set_content(body.data(), body.size(), type);
    });
  }

  // Parses and checks an answer body against the task; "" when fine, else the problem.
  std::string parse_answer(const std::string& body, Answer* a) {
    const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return "the body is not a JSON object";
    std::set<std::string> allowed;
    if (task_has_realness(task)) allowed.insert({"call", "confidence"});
    if (task_has_diagnosis(task)) allowed.insert({"metastasis", "grade"});
    for (const auto& [key, value] : j.items())
      if (!allowed.count(key)) return fmt::format("'{}' is not asked in this study (task {})", key, task);
    for (const auto& key : allowed)
      if (!j.contains(key)) return fmt::format("'{}' is missing", key);
    if (task_has_realness(task)) {
      if (!j["call"].is_string() || (j["call"] != "real" && j["call"] != "synthetic"))
        return "'call' must be \"real\" or \"synthetic\"";
      if (!int_in(j["confidence"], 1, 5)) return "'confidence' must be an integer from 1 to 5";
      a->call = j["call"].get<std::string>();
      a->confidence = j["confidence"].get<int>();
    }
    if (task_has_diagnosis(task)) {
      if (!int_in(j["metastasis"], 0, 1)) return "'metastasis' must be 0 or 1";
      if (!int_in(j["grade"], 0, 3)) return "'grade' must be an integer from 0 to 3";
      a->metastasis = j["metastasis"].get<int>();
      a->grade = j["grade"].get<int>();
    }
    return "";
  }

  void routes() {
    page("/", "index.html", "text/html; charset=utf-8");
    page("/coordinator", "coordinator.html", "text/html; charset=utf-8");
    page("/static/reader.js", "reader.js", "text/javascript; charset=utf-8");
    page("/static/reader.css", "reader.css", "text/css; charset=utf-8");
    page("/static/coordinator.js", "coordinator.js", "text/javascript; charset=utf-8");
    // Browsers ask for it unprompted; "no icon" rather than a 404 in their console.
    http->Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });

    http->Post("/api/session", [this](const httplib::Request& req, httplib::Response& res) {
      const nlohmann::json j = nlohmann::json::parse(req.body, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("token") || !j["token"].is_string() || j.size() != 1)
        return send_error(res, 400, "the body must be {\"token\": \"...\"}");
      const std::string token = j["token"].get<std::string>();
      const std::optional<StudyReader> r = store.reader_for_token(token);
      if (!r) return send_error(res, 401, "this token is not valid for this study");
      res.set_header("Set-Cookie",
                     fmt::format("{}={}; HttpOnly; SameSite=Strict; Path=/{}", kCookie, token, tls ? "; Secure" : ""));
      store.log_event(r->name, "signed_in", nlohmann::json::object());
      send_json(res, 200, {{"reader", r->name}, {"role", r->role}});
    });
    http->Delete("/api/session", [this](const httplib::Request&, httplib::Response& res) {
      res.set_header("Set-Cookie", fmt::format("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}", kCookie,
                                               tls ? "; Secure" : ""));
      send_json(res, 200, nlohmann::json::object());
    });

    http->Get("/api/state", [this](const httplib::Request& req, httplib::Response& res) {
      const auto r = authorise(req, res, "reader");
      if (r) send_json(res, 200, state_json(r->name));
    });

    http->Get(R"(/api/cases/(\d{1,6}))", [this](const httplib::Request& req, httplib::Response& res) {
      const auto r = authorise(req, res, "reader");
      if (!r) return;
      const auto& order = store.order(r->name);
      const size_t k = std::stoul(req.matches[1].str());
      if (k < 1 || k > order.size())
        return send_error(res, 404, fmt::format("there is no case {}; positions are 1 to {}", k, order.size()));
      const std::string& id = order[k - 1];
      const std::optional<Answer> a = store.answer(r->name, id);
      send_json(res, 200,
                {{"position", k},
                 {"n", order.size()},
                 {"case", id},
                 {"images",
                  {{"anterior", fmt::format("/api/images/{}/anterior.png", id)},
                   {"posterior", fmt::format("/api/images/{}/posterior.png", id)}}},
                 {"answer", a ? answer_to_json(*a) : nlohmann::json()}});
    });

    http->Get(R"(/api/images/([0-9a-f]{16})/(anterior|posterior)\.png)", [this](const httplib::Request& req,
                                                                                httplib::Response& res) {
      const auto r = authorise(req, res, "reader");
      if (!r) return;
      const std::string id = req.matches[1].str();
      if (!reader_has_case(r->name, id)) return send_error(res, 404, "no such case");
      const std::optional<std::string> png = store.image(id, req.matches[2] == "anterior" ? kAnterior : kPosterior);
      if (!png) return send_error(res, 404, "no such case");
      res.set_content(*png, "image/png");
    });

    http->Put(R"(/api/answers/([0-9a-f]{16}))", [this](const httplib::Request& req, httplib::Response& res) {
      const auto r = authorise(req, res, "reader");
      if (!r) return;
      if (req.get_header_value("Content-Type").rfind(kJson, 0) != 0)
        return send_error(res, 415, "send the answer as application/json");
      const std::string id = req.matches[1].str();
      if (!reader_has_case(r->name, id)) return send_error(res, 404, "no such case");
      Answer a;
      a.reader = r->name;
      a.case_id = id;
      if (const std::string problem = parse_answer(req.body, &a); !problem.empty())
        return send_error(res, 400, problem);
      const PutResult p = store.put_answer(a);  // committed when it returns
      nlohmann::json body = state_json(r->name);
      body["status"] = to_string(p);
      send_json(res, 200, body);
    });

    http->Get("/api/progress", [this](const httplib::Request& req, httplib::Response& res) {
      const auto r = authorise(req, res, "coordinator");
      if (!r) return;
      nlohmann::json readers = nlohmann::json::array();
      for (const auto& reader : store.snapshot().readers) {
        const std::vector<Answer> answers = store.answers_of(reader.name);
        std::string last;
        for (const auto& a : answers) last = std::max(last, a.updated_at);
        readers.push_back({{"reader", reader.name},
                           {"answered", answers.size()},
                           {"last_answer_at", last.empty() ? nlohmann::json() : nlohmann::json(last)}});
      }
      send_json(res, 200, {{"n", store.n()}, {"task", task}, {"readers", readers}});
    });

    // Errors the library raises itself (no route, body too large, bad request line) as JSON.
    http->set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      const char* what = res.status == 404   ? "no such page"
                         : res.status == 413 ? "the request body is too large"
                         : res.status == 405 ? "method not allowed"
                                             : "bad request";
      send_error(res, res.status, what);
    });
    http->set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      note(sink, fmt::format("error on {} {}: {}", req.method, req.path, what));
      send_error(res, 500, "internal error; the answer was not recorded unless a later state shows it");
    });
  }
};

Server::Server(const ServeConfig& config, EventSink* sink)
    : impl_((config.validate(), std::make_unique<Impl>(config, sink))) {
  Impl& s = *impl_;
  if (!config.tls_cert.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(config.tls_cert.c_str(), config.tls_key.c_str());
    if (!ssl->is_valid())
      throw ConfigError("--tls-cert", fmt::format("cannot load '{}' with '{}'", config.tls_cert, config.tls_key),
                        "give a PEM certificate and its unencrypted PEM private key");
    s.http = std::move(ssl);
    s.tls = true;
  } else {
    s.http = std::make_unique<httplib::Server>();
  }
  const int threads = config.threads;
  s.http->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.http->set_payload_max_length(config.max_body);
  s.http->set_default_headers(security_headers());
  s.http->set_tcp_nodelay(true);  // else small replies wait for the delayed ACK (40 ms each)
  s.http->set_keep_alive_max_count(1000);
  s.http->set_keep_alive_timeout(2);
  s.http->set_read_timeout(10);
  s.http->set_write_timeout(10);
  s.routes();
  s.port = config.port == 0                                 ? s.http->bind_to_any_port(config.host)
           : s.http->bind_to_port(config.host, config.port) ? config.port
                                                            : -1;
  if (s.port <= 0)
    throw InputError(fmt::format("{}:{}", config.host, config.port), "cannot listen there",
                     "is the port in use, or the address not this machine's? (--host, --port)");
}

Server::~Server() {
  stop();
}

int Server::port() const {
  return impl_->port;
}

std::string Server::url() const {
  const std::string& host = impl_->config.host;
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}/", impl_->tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", impl_->port);
}

void Server::run() {
  if (!impl_->stopping) impl_->http->listen_after_bind();
}

void Server::stop() {
  impl_->stopping = true;
  if (impl_->http) impl_->http->stop();
}

}  // namespace scintigen::reader
