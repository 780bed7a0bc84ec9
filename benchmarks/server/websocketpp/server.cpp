// SPDX-License-Identifier: MIT
// A comparison server for benchmarks/server: the WebSocket part of protocol.md that
// qtpush-bench-loadgen uses, on websocketpp 0.8 with Boost.Asio (websocketpp::config::asio, no
// TLS), served by one thread running the io_context as websocketpp's broadcast examples do.
//
//   WebSocket  GET  /v1/sessions/{s}/clients/{c}/ws   text frame {"op":"push","data":DATA}
//   push       POST /v1/sessions/{s}/push             -> {"id":ID,"clients":N}
//   GET /healthz
//
// Every client of a session gets {"id":ID,"session":"S","data":DATA}, ids increasing per
// session. websocketpp closes a plain HTTP connection after each reply (it has no HTTP
// keep-alive) and cannot stream a reply, so there is no SSE or long-poll here.
//
// There is no JSON library among the Debian packages this builds with, so a push frame is not
// parsed into a value: its "data" member is located by a small scanner and copied verbatim into
// the message. That is less work than the Node server (JSON.parse + JSON.stringify) and
// qtpush-server (parse to QVariant, serialize again) do per push, in this server's favour; it is
// once per push, not per delivery.
//
// Run: qtpush-bench-websocketpp [--host 127.0.0.1] [--port 0]
// Prints "listening on http://HOST:PORT" once it accepts connections.

#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace {

using Server = websocketpp::server<websocketpp::config::asio>;
using websocketpp::connection_hdl;

constexpr std::size_t s_maxMessageBytes = 64 * 1024;

std::string jsonString(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    for (const char c : text) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buffer[8];
                std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
                out += buffer;
            } else {
                out += c;
            }
        }
    }
    out += '"';
    return out;
}

std::optional<std::string> percentDecode(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1]))
            || !std::isxdigit(static_cast<unsigned char>(text[i + 2])))
            return std::nullopt;
        out += char(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
    }
    if (out.empty() || out.size() > 256)
        return std::nullopt;
    return out;
}

std::string_view skipSpace(std::string_view text)
{
    while (!text.empty() && std::strchr(" \t\r\n", text.front()))
        text.remove_prefix(1);
    return text;
}

// The extent of the JSON value at the start of text (strings, nesting and scalars); not a
// validator.
std::optional<std::string_view> jsonValue(std::string_view text)
{
    text = skipSpace(text);
    int depth = 0;
    bool inString = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (inString) {
            if (c == '\\')
                ++i;
            else if (c == '"' && (inString = false, depth == 0))
                return text.substr(0, i + 1);
            continue;
        }
        if (c == '"') {
            inString = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return i ? std::optional(text.substr(0, i)) : std::nullopt;
            if (--depth == 0)
                return text.substr(0, i + 1);
        } else if (depth == 0 && (c == ',' || std::strchr(" \t\r\n", c))) {
            return i ? std::optional(text.substr(0, i)) : std::nullopt;
        }
    }
    return std::nullopt;
}

// The "data" member of a {"op":"push","data":DATA} frame.
std::optional<std::string_view> pushData(std::string_view frame)
{
    const std::size_t op = frame.find("\"op\"");
    if (op == std::string_view::npos)
        return std::nullopt;
    const std::string_view opValue = skipSpace(frame.substr(op + 4));
    if (opValue.empty() || opValue.front() != ':'
        || skipSpace(opValue.substr(1)).substr(0, 6) != "\"push\"")
        return std::nullopt;
    const std::size_t data = frame.find("\"data\"");
    if (data == std::string_view::npos)
        return std::nullopt;
    const std::string_view rest = skipSpace(frame.substr(data + 6));
    if (rest.empty() || rest.front() != ':')
        return std::nullopt;
    return jsonValue(rest.substr(1));
}

struct Route
{
    std::string session;
    std::string client;
    std::string kind; // "ws", "push"
};

std::optional<Route> route(std::string_view resource)
{
    resource = resource.substr(0, resource.find('?'));
    constexpr std::string_view prefix = "/v1/sessions/";
    if (resource.substr(0, prefix.size()) != prefix)
        return std::nullopt;
    resource.remove_prefix(prefix.size());
    const std::size_t slash = resource.find('/');
    if (slash == std::string_view::npos)
        return std::nullopt;
    Route r;
    const auto session = percentDecode(resource.substr(0, slash));
    if (!session)
        return std::nullopt;
    r.session = *session;
    resource.remove_prefix(slash);
    if (resource == "/push") {
        r.kind = "push";
        return r;
    }
    constexpr std::string_view clients = "/clients/";
    constexpr std::string_view ws = "/ws";
    if (resource.substr(0, clients.size()) != clients || resource.size() <= clients.size() + ws.size()
        || resource.substr(resource.size() - ws.size()) != ws)
        return std::nullopt;
    const auto client = percentDecode(
            resource.substr(clients.size(), resource.size() - clients.size() - ws.size()));
    if (!client || client->find('/') != std::string::npos)
        return std::nullopt;
    r.client = *client;
    r.kind = "ws";
    return r;
}

class PushServer
{
public:
    PushServer()
    {
        m_server.clear_access_channels(websocketpp::log::alevel::all);
        m_server.set_error_channels(websocketpp::log::elevel::rerror
                                    | websocketpp::log::elevel::fatal);
        m_server.init_asio();
        m_server.set_reuse_addr(true);
        m_server.set_max_message_size(s_maxMessageBytes + 64);
        m_server.set_max_http_body_size(s_maxMessageBytes);
        using namespace std::placeholders;
        m_server.set_validate_handler(std::bind(&PushServer::onValidate, this, _1));
        m_server.set_open_handler(std::bind(&PushServer::onOpen, this, _1));
        m_server.set_close_handler(std::bind(&PushServer::onClose, this, _1));
        m_server.set_fail_handler(std::bind(&PushServer::onClose, this, _1));
        m_server.set_message_handler(std::bind(&PushServer::onMessage, this, _1, _2));
        m_server.set_http_handler(std::bind(&PushServer::onHttp, this, _1));
        // TCP_NODELAY, as Node's ws sets it on every socket: without it Nagle's algorithm holds
        // a frame back while an earlier one is unacknowledged, and at 50 subscribers the
        // broadcast stalls on the peer's delayed ACKs (40 ms p50, a fifth of the rate).
        m_server.set_tcp_post_init_handler([this](connection_hdl hdl) {
            websocketpp::lib::asio::error_code ec;
            m_server.get_con_from_hdl(hdl)->get_socket().set_option(
                    websocketpp::lib::asio::ip::tcp::no_delay(true), ec);
        });
    }

    bool listen(const std::string &host, uint16_t port)
    {
        websocketpp::lib::asio::error_code asioError;
        const auto address = websocketpp::lib::asio::ip::address::from_string(host, asioError);
        websocketpp::lib::error_code ec;
        if (!asioError)
            m_server.listen(websocketpp::lib::asio::ip::tcp::endpoint(address, port), ec);
        if (!asioError && !ec)
            m_server.start_accept(ec);
        if (asioError || ec) {
            std::fprintf(stderr, "qtpush-bench-websocketpp: cannot listen on %s:%u: %s\n",
                         host.c_str(), unsigned(port),
                         (asioError ? asioError.message() : ec.message()).c_str());
            return false;
        }
        const auto local = m_server.get_local_endpoint(asioError);
        std::printf("listening on http://%s:%u\n", host.c_str(), unsigned(local.port()));
        std::fflush(stdout);
        return true;
    }

    void run()
    {
        websocketpp::lib::asio::signal_set signals(m_server.get_io_service(), SIGINT, SIGTERM);
        signals.async_wait([this](const websocketpp::lib::asio::error_code &, int) { m_server.stop(); });
        m_server.run();
    }

private:
    struct Session
    {
        uint64_t lastId = 0;
        std::map<connection_hdl, std::string, std::owner_less<connection_hdl>> clients;
    };

    bool onValidate(connection_hdl hdl)
    {
        const Server::connection_ptr con = m_server.get_con_from_hdl(hdl);
        const auto r = route(con->get_resource());
        if (!r || r->kind != "ws") {
            con->set_status(websocketpp::http::status_code::not_found);
            return false;
        }
        return true;
    }

    void onOpen(connection_hdl hdl)
    {
        const auto r = route(m_server.get_con_from_hdl(hdl)->get_resource());
        m_sessions[r->session].clients.emplace(hdl, r->client);
        m_connections.emplace(hdl, r->session);
    }

    void onClose(connection_hdl hdl)
    {
        const auto it = m_connections.find(hdl);
        if (it == m_connections.end())
            return;
        const auto session = m_sessions.find(it->second);
        session->second.clients.erase(hdl);
        if (session->second.clients.empty())
            m_sessions.erase(session);
        m_connections.erase(it);
    }

    void onMessage(connection_hdl hdl, Server::message_ptr message)
    {
        const auto data = message->get_opcode() == websocketpp::frame::opcode::text
                ? pushData(message->get_payload())
                : std::nullopt;
        websocketpp::lib::error_code ec;
        if (!data) {
            m_server.send(hdl,
                          R"({"error":{"code":"bad_request","message":"expected {\"op\":\"push\",\"data\":...}"}})",
                          websocketpp::frame::opcode::text, ec);
            return;
        }
        const std::string &session = m_connections.at(hdl);
        push(session, *data);
    }

    void onHttp(connection_hdl hdl)
    {
        const Server::connection_ptr con = m_server.get_con_from_hdl(hdl);
        const std::string &resource = con->get_resource();
        if (resource == "/healthz") {
            con->set_status(websocketpp::http::status_code::ok);
            return;
        }
        const auto r = route(resource);
        if (!r || r->kind != "push")
            return reply(con, websocketpp::http::status_code::not_found,
                         R"({"error":{"code":"not_found","message":"no such path"}})");
        if (con->get_request().get_method() != "POST")
            return reply(con, websocketpp::http::status_code::method_not_allowed,
                         R"({"error":{"code":"method_not_allowed","message":"use POST"}})");
        const std::string &body = con->get_request_body();
        std::string data;
        if (con->get_request_header("Content-Type").rfind("application/json", 0) == 0) {
            const auto value = jsonValue(body);
            if (!value || !skipSpace(body.substr(value->size() + (value->data() - body.data())))
                                   .empty())
                return reply(con, websocketpp::http::status_code::bad_request,
                             R"({"error":{"code":"bad_request","message":"body is not JSON"}})");
            data = *value;
        } else {
            data = jsonString(body);
        }
        const auto [id, clients] = push(r->session, data);
        reply(con, websocketpp::http::status_code::ok,
              "{\"id\":" + std::to_string(id) + ",\"clients\":" + std::to_string(clients) + "}");
    }

    static void reply(const Server::connection_ptr &con, websocketpp::http::status_code::value status,
                      const std::string &body)
    {
        con->set_status(status);
        con->replace_header("Content-Type", "application/json");
        con->set_body(body);
    }

    std::pair<uint64_t, std::size_t> push(const std::string &sessionName, std::string_view data)
    {
        Session &session = m_sessions[sessionName];
        const uint64_t id = ++session.lastId;
        std::string text = "{\"id\":" + std::to_string(id) + ",\"session\":"
                + jsonString(sessionName) + ",\"data\":";
        text += data;
        text += '}';
        for (const auto &client : session.clients) {
            websocketpp::lib::error_code ec;
            m_server.send(client.first, text, websocketpp::frame::opcode::text, ec);
        }
        const std::size_t clients = session.clients.size();
        if (clients == 0)
            m_sessions.erase(sessionName);
        return {id, clients};
    }

    Server m_server;
    std::map<std::string, Session> m_sessions;
    std::map<connection_hdl, std::string, std::owner_less<connection_hdl>> m_connections;
};

} // namespace

int main(int argc, char *argv[])
{
    std::string host = "127.0.0.1";
    long port = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--host" && i + 1 < argc) {
            host = argv[++i];
        } else if (arg == "--port" && i + 1 < argc) {
            char *end = nullptr;
            port = std::strtol(argv[++i], &end, 10);
            if (*end || port < 0 || port > 65535) {
                std::fprintf(stderr, "qtpush-bench-websocketpp: bad --port %s\n", argv[i]);
                return 2;
            }
        } else {
            std::fprintf(stderr, "usage: %s [--host ADDR] [--port N]\n", argv[0]);
            return 2;
        }
    }
    PushServer server;
    if (!server.listen(host, uint16_t(port)))
        return 1;
    server.run();
    return 0;
}
