#include "notify/kannel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ryuryo::notify {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string body;
};

// An HTTP server on 127.0.0.1 (an ephemeral port) answering one request per connection, on its
// own thread, with the next of `answers` (status, body); the last one repeats.
class FakeKannel {
 public:
  explicit FakeKannel(std::vector<std::pair<int, std::string>> answers)
      : answers_(std::move(answers)),
        acceptor_(io_context_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakeKannel() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    // Wake the blocked accept() with a connection of our own.
    asio::io_context io_context;
    tcp::socket waker(io_context);
    boost::system::error_code ignored;
    waker.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
    thread_.join();
  }

  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/cgi-bin/sendsms";
  }

  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    for (;;) {
      tcp::socket socket(io_context_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
      }
      if (ec) continue;
      beast::flat_buffer buffer;
      http::request_parser<http::string_body> parser;
      http::read(socket, buffer, parser, ec);
      if (ec) continue;
      RecordedRequest recorded;
      recorded.method = std::string(parser.get().method_string());
      recorded.target = std::string(parser.get().target());
      recorded.body = parser.get().body();
      std::pair<int, std::string> answer;
      {
        std::lock_guard<std::mutex> lock(mu_);
        answer = answers_[std::min(requests_.size(), answers_.size() - 1)];
        requests_.push_back(std::move(recorded));
      }
      const std::string raw = "HTTP/1.1 " + std::to_string(answer.first) +
                              " Status\r\nContent-Type: text/plain\r\nContent-Length: " +
                              std::to_string(answer.second.size()) + "\r\n\r\n" + answer.second;
      asio::write(socket, asio::buffer(raw), ec);
      socket.shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  const std::vector<std::pair<int, std::string>> answers_;
  asio::io_context io_context_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  bool stopping_ = false;
  std::vector<RecordedRequest> requests_;
};

// A port on 127.0.0.1 on which nothing listens (it was free a moment ago).
int ClosedPort() {
  asio::io_context io_context;
  tcp::acceptor acceptor(io_context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const int port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

// Reverses percent-encoding; '+' is left as it is (Kannel would read it as a space).
std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The query of a request target, as raw (still encoded) parameters in order.
std::vector<std::pair<std::string, std::string>> RawQuery(std::string_view target) {
  std::vector<std::pair<std::string, std::string>> params;
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return params;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    const size_t eq = part.find('=');
    params.emplace_back(std::string(part.substr(0, eq)),
                        eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return params;
}

// The decoded value of each parameter (every name must appear once).
std::map<std::string, std::string> Query(std::string_view target) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : RawQuery(target)) {
    EXPECT_EQ(out.count(name), 0u) << name << " twice in " << target;
    out[name] = PercentDecode(value);
  }
  return out;
}

KannelSendOptions Options(std::string url = "http://127.0.0.1:13013/cgi-bin/sendsms") {
  KannelSendOptions o;
  o.url = std::move(url);
  o.username = "ryuryo";
  o.password = "s3cret&x=1";
  o.from = "RYURYO";
  o.timeout_ms = 2000;
  return o;
}

constexpr char kJa[] = "[流量] 80%を使用しました。残り 600 MB / 3 GB。停止→「停止」と返信";
constexpr char kZh[] = "[流量] 本期流量已用 80%。剩余 600 MB / 3 GB。回复 退订 停止通知";
constexpr char kEn[] = "[ryuryo] You have used 80% of your data. Reply STOP to opt out.";

// ---------------------------------------------------------------------------------------------
// PercentEncode

TEST(PercentEncodeTest, OnlyUnreservedCharactersStayAsTheyAre) {
  EXPECT_EQ(PercentEncode("a b&c"), "a%20b%26c");
  EXPECT_EQ(PercentEncode(""), "");
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("+/?#=%:@!$'()*,;[]"),
            "%2B%2F%3F%23%3D%25%3A%40%21%24%27%28%29%2A%2C%3B%5B%5D");
  EXPECT_EQ(PercentEncode("\r\n\t"), "%0D%0A%09");
  EXPECT_EQ(PercentEncode(std::string_view("a\0b", 3)), "a%00b");
  // UTF-8 byte by byte, upper-case hex.
  EXPECT_EQ(PercentEncode("流量"), "%E6%B5%81%E9%87%8F");
  EXPECT_EQ(PercentEncode("€"), "%E2%82%AC");
  EXPECT_EQ(PercentEncode("\xff"), "%FF");
}

TEST(PercentEncodeTest, KeepsTheCharactersAskedFor) {
  EXPECT_EQ(PercentEncode("/cgi-bin/send sms", "/"), "/cgi-bin/send%20sms");
  EXPECT_EQ(PercentEncode("a+b:c", "+:"), "a+b:c");
  EXPECT_EQ(PercentEncode("a+b:c", ":"), "a%2Bb:c");
  EXPECT_EQ(PercentEncode("流", "/"), "%E6%B5%81");
}

TEST(PercentEncodeTest, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string encoded = PercentEncode(all);
  EXPECT_EQ(encoded.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"),
            std::string::npos);
  EXPECT_EQ(PercentDecode(encoded), all);
}

// ---------------------------------------------------------------------------------------------
// KannelSendUrl

TEST(KannelSendUrlTest, AnEnglishText) {
  EXPECT_EQ(KannelSendUrl(Options(), "819012345678", "Hi there & +1 GB"),
            "http://127.0.0.1:13013/cgi-bin/sendsms?username=ryuryo&password=s3cret%26x%3D1"
            "&from=RYURYO&to=%2B819012345678&text=Hi%20there%20%26%20%2B1%20GB&charset=UTF-8");
}

TEST(KannelSendUrlTest, JapaneseAndChineseAskForUcs2) {
  for (const char* text : {kJa, kZh}) {
    const std::string url = KannelSendUrl(Options(), "819012345678", text);
    EXPECT_THAT(url, EndsWith("&charset=UTF-8&coding=2")) << url;
    auto q = Query(url);
    EXPECT_EQ(q["text"], text);
    EXPECT_EQ(q["coding"], "2");
  }
  // GSM-7, including its extension table: no coding.
  for (const char* text : {kEn, "[ryuryo] 5 € left {~}", "Café Ñ ü"}) {
    const std::string url = KannelSendUrl(Options(), "819012345678", text);
    EXPECT_THAT(url, Not(HasSubstr("coding="))) << text;
    EXPECT_EQ(Query(url)["text"], text);
  }
  // Outside GSM-7 though it is Latin text.
  EXPECT_THAT(KannelSendUrl(Options(), "819012345678", "5 GB left `x`"), EndsWith("&coding=2"));
}

TEST(KannelSendUrlTest, AnUrlWithAQueryAndNoSender) {
  KannelSendOptions o = Options("http://kannel.example.net:13013/cgi-bin/sendsms?smsc=docomo");
  o.from.clear();
  const std::string url = KannelSendUrl(o, "447700900123", "x");
  EXPECT_EQ(url,
            "http://kannel.example.net:13013/cgi-bin/sendsms?smsc=docomo&username=ryuryo"
            "&password=s3cret%26x%3D1&to=%2B447700900123&text=x&charset=UTF-8");
  EXPECT_EQ(Query(url).count("from"), 0u);
}

// ---------------------------------------------------------------------------------------------
// SendSmsViaKannel

TEST(SendSmsViaKannelTest, AcceptedThenRefused) {
  FakeKannel kannel({{202, "0: Accepted for delivery"}, {403, "Authorization failed for sendsms"}});
  KannelSendOptions o = Options(kannel.Url());

  Status st = SendSmsViaKannel(o, "819012345678", kJa);
  EXPECT_TRUE(st.ok()) << st.ToString();
  auto requests = kannel.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_TRUE(requests[0].body.empty());
  EXPECT_EQ(requests[0].target.substr(0, requests[0].target.find('?')), "/cgi-bin/sendsms");
  auto q = Query(requests[0].target);
  EXPECT_EQ(q["username"], "ryuryo");
  EXPECT_EQ(q["password"], "s3cret&x=1");
  EXPECT_EQ(q["from"], "RYURYO");
  EXPECT_EQ(q["to"], "+819012345678");
  EXPECT_EQ(q["text"], kJa) << "UTF-8, byte for byte";
  EXPECT_EQ(q["charset"], "UTF-8");
  EXPECT_EQ(q["coding"], "2");
  EXPECT_EQ(q.size(), 7u);
  // On the wire: '+' as %2B (a bare '+' would be a space to Kannel), UTF-8 percent-encoded.
  for (const auto& [name, value] : RawQuery(requests[0].target)) {
    EXPECT_EQ(value.find_first_of("+ &=?#"), std::string::npos) << name << "=" << value;
  }
  EXPECT_THAT(requests[0].target, HasSubstr("&to=%2B819012345678&"));
  EXPECT_THAT(requests[0].target, HasSubstr("&text=%5B%E6%B5%81%E9%87%8F%5D%2080%25"));

  st = SendSmsViaKannel(o, "8613812345678", kEn);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("403"));
  EXPECT_THAT(st.message(), HasSubstr("Authorization failed for sendsms"));
  EXPECT_THAT(st.message(), Not(HasSubstr("s3cret")));
  requests = kannel.requests();
  ASSERT_EQ(requests.size(), 2u);
  q = Query(requests[1].target);
  EXPECT_EQ(q["to"], "+8613812345678");
  EXPECT_EQ(q["text"], kEn);
  EXPECT_EQ(q.count("coding"), 0u) << "English goes as GSM-7";
}

TEST(SendSmsViaKannelTest, QueuedForLaterIsAccepted) {
  FakeKannel kannel({{202, "3: Queued for later delivery"}});
  Status st = SendSmsViaKannel(Options(kannel.Url()), "819012345678", kZh);
  EXPECT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(kannel.requests().size(), 1u);
  auto q = Query(kannel.requests()[0].target);
  EXPECT_EQ(q["text"], kZh);
  EXPECT_EQ(q["coding"], "2");
}

TEST(SendSmsViaKannelTest, OtherAnswersAreFailures) {
  FakeKannel kannel({{400, "Missing receiver number\n"},
                     {503, ""},
                     {500, std::string(1000, 'x')},
                     {302, "moved"}});
  KannelSendOptions o = Options(kannel.Url());
  Status st = SendSmsViaKannel(o, "819012345678", kEn);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("Missing receiver number"));
  EXPECT_THAT(st.message(), Not(EndsWith("\n")));
  st = SendSmsViaKannel(o, "819012345678", kEn);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("503"));
  st = SendSmsViaKannel(o, "819012345678", kEn);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("500"));
  EXPECT_LT(st.message().size(), 400u) << "a long answer is cut";
  st = SendSmsViaKannel(o, "819012345678", kEn);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("302"));
}

TEST(SendSmsViaKannelTest, NoKannelIsUnavailable) {
  KannelSendOptions o = Options("http://127.0.0.1:" + std::to_string(ClosedPort()) + "/sendsms");
  Status st = SendSmsViaKannel(o, "819012345678", kEn);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("kannel"));
  EXPECT_THAT(st.message(), Not(HasSubstr("s3cret"))) << "the password stays out of logs";
  st = SendSmsViaKannel(Options(""), "819012345678", kEn);
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("not configured"));
}

}  // namespace
}  // namespace ryuryo::notify
