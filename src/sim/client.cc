#include "sim/client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <vector>

#include "radius/auth.h"
#include "radius/packet.h"

namespace ryuryo::sim {

namespace {

// Socket buffers asked for (the kernel may cap them): room for a full window of datagrams.
constexpr int kSocketBufferBytes = 4 << 20;
// The longest the loop sleeps without looking at the clock.
constexpr int64_t kPollNsMax = 50'000'000;
// Paced messages due within this much are sent now: a wakeup per millisecond at most instead of
// one per request (at 20,000 requests/s precise pacing costs more CPU than the requests do).
constexpr double kPacingSlackMs = 1.0;

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Millis WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Slot {
  bool busy = false;
  uint32_t generation = 0;  // bumps each time the slot takes a new request
  uint32_t sends = 0;       // transmissions so far (1 + retransmissions after timeouts)
  radius::Authenticator authenticator{};
  std::string datagram;
  int64_t first_sent_ns = 0;
  Message message;
};

struct Deadline {
  int64_t at_ns;
  uint32_t slot;
  uint32_t generation;
  uint32_t sends;  // stale when the slot was sent again since
};

struct Outgoing {
  uint32_t slot;
  uint32_t generation;
};

struct Socket {
  int fd = -1;
  std::deque<uint8_t> free_ids;  // oldest-freed first
  std::deque<Outgoing> out;      // datagrams waiting to be sent
};

class Runner {
 public:
  Runner(const ClientOptions& o, Model* model, ExpectedTotals* expected, ClientStats* stats)
      : o_(o), model_(model), expected_(expected), stats_(stats) {}
  ~Runner() {
    for (Socket& s : sockets_) {
      if (s.fd >= 0) ::close(s.fd);
    }
  }

  Status Open();
  Status Run();

 private:
  void Receive(Socket& s, uint32_t index, int64_t now);
  void Expire(int64_t now);
  // Sends what is due; returns the ns until the next message is due, or -1 if nothing is
  // waiting on the clock (the window is full, or the model has ended).
  Status Fill(int64_t now, int64_t* wait_ns);
  void Flush(Socket& s);
  void Release(uint32_t slot, int64_t now);
  int64_t DueInNs(const Message& m, int64_t now) const;

  const ClientOptions& o_;
  Model* model_;
  ExpectedTotals* expected_;
  ClientStats* stats_;
  std::vector<Socket> sockets_;
  std::vector<Slot> slots_;
  std::deque<Deadline> deadlines_;
  uint32_t next_socket_ = 0;
  uint64_t in_flight_ = 0;
  bool model_done_ = false;
  bool finishing_ = false;  // the run's end was reached: no more pacing
  int64_t start_ns_ = 0;
  Millis start_wall_ms_ = 0;
  int64_t last_answer_ns_ = 0;
};

Status Runner::Open() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(o_.port);
  if (int rc = ::getaddrinfo(o_.host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res) {
    return Status::Unavailable("radius server " + o_.host + ": " + ::gai_strerror(rc));
  }
  const uint32_t count = (o_.window + kClientIdsPerSocket - 1) / kClientIdsPerSocket;
  sockets_.resize(count);
  slots_.resize(size_t{count} * kClientIdsPerSocket);
  Status st;
  for (uint32_t i = 0; i < count && st.ok(); ++i) {
    Socket& s = sockets_[i];
    s.fd = ::socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
      st = Status::Unavailable(std::string("socket: ") + std::strerror(errno));
      break;
    }
    for (int opt : {SO_RCVBUF, SO_SNDBUF}) {
      const int force = opt == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
      if (::setsockopt(s.fd, SOL_SOCKET, force, &kSocketBufferBytes, sizeof kSocketBufferBytes)) {
        ::setsockopt(s.fd, SOL_SOCKET, opt, &kSocketBufferBytes, sizeof kSocketBufferBytes);
      }
    }
    if (::connect(s.fd, res->ai_addr, res->ai_addrlen) != 0) {
      st = Status::Unavailable("connect to " + o_.host + ":" + port + ": " + std::strerror(errno));
    }
    for (uint32_t id = 0; id < kClientIdsPerSocket; ++id) {
      s.free_ids.push_back(static_cast<uint8_t>(id));
    }
  }
  ::freeaddrinfo(res);
  return st;
}

int64_t Runner::DueInNs(const Message& m, int64_t now) const {
  const double elapsed_ms = static_cast<double>(now - start_ns_) / 1e6;
  double wait_ms = 0;
  // Never ahead of the wall clock.
  wait_ms = std::max(wait_ms, static_cast<double>(m.send_time - start_wall_ms_) - elapsed_ms);
  if (o_.speed > 0) {
    const double due_ms = static_cast<double>(m.send_time - model_->options().start) / o_.speed;
    wait_ms = std::max(wait_ms, due_ms - elapsed_ms);
  }
  if (o_.rate_per_s > 0) {
    const double due_ms = static_cast<double>(stats_->requests) * 1e3 / o_.rate_per_s;
    wait_ms = std::max(wait_ms, due_ms - elapsed_ms);
  }
  return wait_ms <= kPacingSlackMs ? 0 : static_cast<int64_t>(wait_ms * 1e6) + 1;
}

Status Runner::Fill(int64_t now, int64_t* wait_ns) {
  *wait_ns = -1;
  while (in_flight_ < o_.window) {
    const Message* next = model_->Peek();
    if (next == nullptr) {
      model_done_ = true;
      return Status::Ok();
    }
    if (finishing_) {
      // The end of the run: what the model still has goes out now, but never an event from
      // the future (those are dropped unsent).
      const Millis wall_now = start_wall_ms_ + (now - start_ns_) / 1'000'000;
      if (next->event_time > wall_now) {
        Message dropped;
        model_->Next(&dropped);
        ++stats_->unsent;
        continue;
      }
    } else if (int64_t wait = DueInNs(*next, now); wait > 0) {
      *wait_ns = wait;
      return Status::Ok();
    }
    // A socket with a free Identifier (there is one: in_flight_ < window <= ids).
    uint32_t si = next_socket_;
    while (sockets_[si].free_ids.empty()) si = (si + 1) % sockets_.size();
    next_socket_ = (si + 1) % sockets_.size();
    Socket& s = sockets_[si];
    const uint8_t id = s.free_ids.front();
    const uint32_t index = si * kClientIdsPerSocket + id;
    Slot& slot = slots_[index];
    model_->Next(&slot.message);
    radius::Packet packet = model_->ToPacket(slot.message);
    packet.identifier = id;
    Status st = radius::EncodeRequest(packet, o_.secret, &slot.datagram);
    if (!st.ok()) return st.Prefixed("encoding a request");
    s.free_ids.pop_front();
    std::memcpy(slot.authenticator.data(), slot.datagram.data() + 4, slot.authenticator.size());
    slot.busy = true;
    ++slot.generation;
    slot.sends = 1;
    slot.first_sent_ns = now;
    for (uint8_t c = 0; c < slot.message.copies; ++c) s.out.push_back({index, slot.generation});
    deadlines_.push_back({now + o_.timeout_ms * 1'000'000, index, slot.generation, 1});
    ++in_flight_;
    ++stats_->requests;
    stats_->copies_sent += slot.message.copies - 1;
    stats_->sim_time = std::max(stats_->sim_time, slot.message.event_time);
  }
  return Status::Ok();
}

void Runner::Flush(Socket& s) {
  while (!s.out.empty()) {
    mmsghdr msgs[kClientBatchMax];
    iovec iov[kClientBatchMax];
    size_t n = 0;
    while (n < kClientBatchMax && n < s.out.size()) {
      const Outgoing& og = s.out[n];
      Slot& slot = slots_[og.slot];
      if (!slot.busy || slot.generation != og.generation) {  // answered meanwhile
        s.out.erase(s.out.begin() + static_cast<std::ptrdiff_t>(n));
        continue;
      }
      iov[n] = {slot.datagram.data(), slot.datagram.size()};
      std::memset(&msgs[n], 0, sizeof msgs[n]);
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      ++n;
    }
    if (n == 0) return;
    int sent = ::sendmmsg(s.fd, msgs, static_cast<unsigned>(n), MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS) return;
      // ECONNREFUSED and the like: the first datagram is lost; its timeout will resend it.
      ++stats_->send_errors;
      sent = 1;
    } else {
      stats_->datagrams_sent += static_cast<uint64_t>(sent);
    }
    s.out.erase(s.out.begin(), s.out.begin() + sent);
  }
}

void Runner::Release(uint32_t index, int64_t now) {
  Slot& slot = slots_[index];
  slot.busy = false;
  sockets_[index / kClientIdsPerSocket].free_ids.push_back(
      static_cast<uint8_t>(index % kClientIdsPerSocket));
  --in_flight_;
  last_answer_ns_ = now;
}

void Runner::Receive(Socket& s, uint32_t index, int64_t now) {
  static thread_local uint8_t buffers[kClientBatchMax][radius::kRadiusPacketBytesMax];
  for (;;) {
    mmsghdr msgs[kClientBatchMax];
    iovec iov[kClientBatchMax];
    for (size_t i = 0; i < kClientBatchMax; ++i) {
      iov[i] = {buffers[i], sizeof buffers[i]};
      std::memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int got = ::recvmmsg(s.fd, msgs, kClientBatchMax, MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      ++stats_->send_errors;  // an ICMP error for an earlier datagram (server not listening)
      continue;
    }
    for (int i = 0; i < got; ++i) {
      const uint8_t* d = buffers[i];
      const size_t len = msgs[i].msg_len;
      if (len < radius::kRadiusHeaderBytes || d[0] != radius::kAccountingResponse) {
        ++stats_->responses_invalid;
        continue;
      }
      const uint32_t slot_index = index * kClientIdsPerSocket + d[1];
      Slot& slot = slots_[slot_index];
      if (!slot.busy || !radius::VerifyResponse({d, len}, slot.authenticator, o_.secret)) {
        ++stats_->responses_unmatched;
        continue;
      }
      stats_->latency.Record(static_cast<uint64_t>((now - slot.first_sent_ns) / 1000));
      ++stats_->acknowledged;
      expected_->Acknowledged(slot.message);
      Release(slot_index, now);
    }
    if (got < static_cast<int>(kClientBatchMax)) return;
  }
}

void Runner::Expire(int64_t now) {
  while (!deadlines_.empty() && deadlines_.front().at_ns <= now) {
    const Deadline d = deadlines_.front();
    deadlines_.pop_front();
    Slot& slot = slots_[d.slot];
    if (!slot.busy || slot.generation != d.generation || slot.sends != d.sends) continue;
    if (slot.sends <= o_.retries) {
      ++slot.sends;
      ++stats_->retransmitted;
      sockets_[d.slot / kClientIdsPerSocket].out.push_back({d.slot, slot.generation});
      deadlines_.push_back({now + o_.timeout_ms * 1'000'000, d.slot, slot.generation, slot.sends});
    } else {
      ++stats_->timed_out;
      Release(d.slot, now);
    }
  }
}

Status Runner::Run() {
  start_ns_ = SteadyNs();
  start_wall_ms_ = WallMs();
  last_answer_ns_ = start_ns_;
  int64_t next_progress_ns = start_ns_ + o_.progress_interval_ms * 1'000'000;
  std::vector<pollfd> fds(sockets_.size());
  for (;;) {
    int64_t now = SteadyNs();
    if (!finishing_ && ((o_.duration_ms > 0 && now - start_ns_ >= o_.duration_ms * 1'000'000) ||
                        (o_.stop != nullptr && o_.stop->load()))) {
      model_->Finish();
      finishing_ = true;
    }
    for (uint32_t i = 0; i < sockets_.size(); ++i) {
      if (fds[i].revents & (POLLIN | POLLERR)) Receive(sockets_[i], i, now);
    }
    now = SteadyNs();
    Expire(now);
    int64_t wait_ns = -1;
    RYURYO_RETURN_IF_ERROR(Fill(now, &wait_ns));
    bool pending_out = false;
    for (uint32_t i = 0; i < sockets_.size(); ++i) {
      Flush(sockets_[i]);
      pending_out |= !sockets_[i].out.empty();
    }
    if (model_done_ && in_flight_ == 0) break;
    if (o_.progress && o_.progress_interval_ms > 0 && now >= next_progress_ns) {
      stats_->in_flight = in_flight_;
      stats_->elapsed_s = static_cast<double>(now - start_ns_) / 1e9;
      o_.progress(*stats_);
      next_progress_ns += o_.progress_interval_ms * 1'000'000;
    }
    // Sleep until an answer arrives, a socket can take more, or the clock says to act.
    int64_t timeout_ns = kPollNsMax;
    if (wait_ns >= 0) timeout_ns = std::min(timeout_ns, wait_ns);
    if (!deadlines_.empty()) timeout_ns = std::min(timeout_ns, deadlines_.front().at_ns - now);
    if (!finishing_ && o_.duration_ms > 0) {
      timeout_ns = std::min(timeout_ns, start_ns_ + o_.duration_ms * 1'000'000 - now);
    }
    if (o_.progress && o_.progress_interval_ms > 0) {
      timeout_ns = std::min(timeout_ns, next_progress_ns - now);
    }
    timeout_ns = std::max<int64_t>(timeout_ns, 0);
    for (uint32_t i = 0; i < sockets_.size(); ++i) {
      fds[i] = {sockets_[i].fd,
                static_cast<short>(POLLIN | (sockets_[i].out.empty() ? 0 : POLLOUT)), 0};
    }
    timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                static_cast<long>(timeout_ns % 1'000'000'000)};
    if (::ppoll(fds.data(), fds.size(), &ts, nullptr) <= 0) {
      for (pollfd& p : fds) p.revents = 0;
    }
  }
  stats_->in_flight = 0;
  stats_->elapsed_s = static_cast<double>(last_answer_ns_ - start_ns_) / 1e9;
  return Status::Ok();
}

}  // namespace

Status RunClient(const ClientOptions& options, Model* model, ExpectedTotals* expected,
                 ClientStats* stats) {
  if (options.window < 1 || options.window > kClientWindowMax) {
    return Status::InvalidArgument("window: must be from 1 to " + std::to_string(kClientWindowMax));
  }
  if (options.timeout_ms < 1 || options.timeout_ms > kClientTimeoutMsMax) {
    return Status::InvalidArgument("timeout: must be from 1 ms to 60 s");
  }
  if (options.retries > kClientRetriesMax) {
    return Status::InvalidArgument("retries: at most " + std::to_string(kClientRetriesMax));
  }
  if (!(options.speed >= 0) || !(options.rate_per_s >= 0) || options.duration_ms < 0) {
    return Status::InvalidArgument("speed, rate and duration: must not be negative");
  }
  if (options.secret.empty()) return Status::InvalidArgument("secret: must not be empty");
  *stats = ClientStats{};
  Runner runner(options, model, expected, stats);
  RYURYO_RETURN_IF_ERROR(runner.Open());
  return runner.Run();
}

}  // namespace ryuryo::sim
