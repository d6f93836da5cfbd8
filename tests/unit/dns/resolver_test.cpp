// Resolver against a real DNS server: dnsmasq on a loopback port serving MX, A, AAAA and CNAME records
// for .test domains; a bound socket that never answers; a port nobody listens on.
#include "transportd/dns/resolver.h"

#include <gtest/gtest.h>

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "tests/unit/dns/dnsmasq_server.h"

namespace transport::dns {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

std::vector<std::string> names(const MailRoute& route) {
  std::vector<std::string> out;
  for (const auto& host : route.hosts) out.push_back(host.name);
  return out;
}

// Runs one lookup on `io` (one thread, this one) to its end; nullopt if it did not end within 15 s.
template <class T>
std::optional<T> run(asio::io_context& io, asio::awaitable<T> lookup) {
  std::optional<T> result;
  asio::co_spawn(io, std::move(lookup), [&](std::exception_ptr error, T value) {
    if (error) std::rethrow_exception(error);
    result = std::move(value);
  });
  const auto deadline = Clock::now() + 15s;
  while (!result && Clock::now() < deadline) {
    io.restart();
    io.run_for(100ms);
  }
  return result;
}

class DnsResolver : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::vector<std::string> records{
        // Two MX hosts of different preference, listed worst first.
        "--mx-host=two.test,backup.two.test,20",
        "--mx-host=two.test,mx1.two.test,10",
        "--host-record=mx1.two.test,127.0.0.11",
        "--host-record=backup.two.test,127.0.0.12",
        // No MX: the implicit MX is the domain's own address.
        "--host-record=bare.test,127.0.0.20",
        // An MX host that has no address at all, and one whose second host does.
        "--mx-host=ghost.test,nowhere.ghost.test,10",
        "--mx-host=half.test,nowhere.half.test,10",
        "--mx-host=half.test,mx2.half.test,20",
        "--host-record=mx2.half.test,127.0.0.22",
        // RFC 7505 null MX.
        "--mx-host=null.test,.,0",
        // IPv6: an MX host with only an AAAA record, and a host with both.
        "--mx-host=six.test,mx.six.test,10",
        "--host-record=mx.six.test,::1",
        "--host-record=dual.test,127.0.0.30,::1",
        // An MX naming a CNAME.
        "--mx-host=alias.test,cname.alias.test,10",
        "--cname=cname.alias.test,real.alias.test",
        "--host-record=real.alias.test,127.0.0.40",
        // An MX naming an address instead of a host (RFC 5321 §5.1 forbids it).
        "--mx-host=literal.test,127.0.0.50,10",
        // A zone dnsmasq would forward, with no upstream server to forward to: it answers REFUSED.
        "--server=/refused.test/#",
    };
    // 30 MX hosts with long names: the answer exceeds 512 octets, so it comes truncated over UDP and
    // c-ares asks again over TCP (a connect, a write, reads).
    for (int i = 0; i < 30; ++i) {
      std::string host = "a-rather-long-mail-server-name-number-" + std::to_string(i) + ".big.test";
      records.push_back("--mx-host=big.test," + host + "," + std::to_string(100 + i));
      records.push_back("--host-record=" + host + ",127.0.1." + std::to_string(i + 1));
    }
    server_ = new test::DnsmasqServer(records);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  std::optional<MailRoute> mail(const std::string& domain) {
    Resolver resolver(io_.get_executor(), server_->servers());
    return run(io_, resolver.resolve_mail_domain(domain));
  }
  std::optional<HostAddresses> host(const std::string& name) {
    Resolver resolver(io_.get_executor(), server_->servers());
    return run(io_, resolver.resolve_host(name));
  }

  static test::DnsmasqServer* server_;
  asio::io_context io_;
};

test::DnsmasqServer* DnsResolver::server_ = nullptr;

TEST_F(DnsResolver, TwoMxHostsInPreferenceOrder) {
  auto route = mail("two.test");
  ASSERT_TRUE(route);
  ASSERT_EQ(route->status, LookupStatus::ok) << route->error;
  EXPECT_EQ(names(*route), (std::vector<std::string>{"mx1.two.test", "backup.two.test"}));
  EXPECT_EQ(route->hosts[0].preference, 10);
  EXPECT_EQ(route->hosts[0].addresses, (std::vector<asio::ip::address>{ip("127.0.0.11")}));
  EXPECT_EQ(route->hosts[1].preference, 20);
  EXPECT_EQ(route->hosts[1].addresses, (std::vector<asio::ip::address>{ip("127.0.0.12")}));
}

TEST_F(DnsResolver, DomainWithoutMxIsItsOwnMailHost) {
  auto route = mail("Bare.Test.");
  ASSERT_TRUE(route);
  ASSERT_EQ(route->status, LookupStatus::ok) << route->error;
  ASSERT_EQ(route->hosts.size(), 1u);
  EXPECT_EQ(route->hosts[0].name, "bare.test");
  EXPECT_EQ(route->hosts[0].addresses, (std::vector<asio::ip::address>{ip("127.0.0.20")}));
}

TEST_F(DnsResolver, NxdomainIsNoSuchDomain) {
  auto route = mail("missing.test");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->status, LookupStatus::no_such_domain);
  EXPECT_TRUE(route->hosts.empty());
  EXPECT_EQ(route->error, "The domain missing.test does not exist in DNS (NXDOMAIN).");
}

TEST_F(DnsResolver, MxHostWithoutAddressIsNoSuchDomain) {
  auto route = mail("ghost.test");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->status, LookupStatus::no_such_domain);
  EXPECT_EQ(route->error, "None of the mail servers of ghost.test (nowhere.ghost.test) has an address in DNS.");
}

TEST_F(DnsResolver, MxHostWithoutAddressIsSkippedForTheNext) {
  auto route = mail("half.test");
  ASSERT_TRUE(route);
  ASSERT_EQ(route->status, LookupStatus::ok) << route->error;
  EXPECT_EQ(names(*route), (std::vector<std::string>{"mx2.half.test"}));
}

TEST_F(DnsResolver, NullMxAcceptsNoMail) {
  auto route = mail("null.test");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->status, LookupStatus::null_mx) << route->error;
  EXPECT_TRUE(route->hosts.empty());
}

TEST_F(DnsResolver, MxHostWithOnlyIPv6) {
  auto route = mail("six.test");
  ASSERT_TRUE(route);
  ASSERT_EQ(route->status, LookupStatus::ok) << route->error;
  ASSERT_EQ(route->hosts.size(), 1u);
  EXPECT_EQ(route->hosts[0].addresses, (std::vector<asio::ip::address>{ip("::1")}));
}

TEST_F(DnsResolver, MxNamingACnameIsFollowed) {
  auto route = mail("alias.test");
  ASSERT_TRUE(route);
  ASSERT_EQ(route->status, LookupStatus::ok) << route->error;
  ASSERT_EQ(route->hosts.size(), 1u);
  EXPECT_EQ(route->hosts[0].name, "cname.alias.test");
  EXPECT_EQ(route->hosts[0].addresses, (std::vector<asio::ip::address>{ip("127.0.0.40")}));
}

TEST_F(DnsResolver, MxNamingAnAddressIsRefusedWithTheReason) {
  auto route = mail("literal.test");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->status, LookupStatus::no_such_domain);
  EXPECT_EQ(route->error,
            "The MX record of literal.test names the address 127.0.0.50 instead of a host name, which RFC "
            "5321 does not allow.");
}

TEST_F(DnsResolver, LargeMxAnswerOverTcpKeepsTheMostPreferredHosts) {
  auto route = mail("big.test");
  ASSERT_TRUE(route);
  ASSERT_EQ(route->status, LookupStatus::ok) << route->error;
  ASSERT_EQ(route->hosts.size(), max_mail_hosts);
  for (std::size_t i = 0; i < route->hosts.size(); ++i) {
    EXPECT_EQ(route->hosts[i].preference, 100 + i);
    EXPECT_EQ(route->hosts[i].addresses,
              (std::vector<asio::ip::address>{asio::ip::make_address("127.0.1." + std::to_string(i + 1))}));
  }
}

TEST_F(DnsResolver, RefusedQueryIsATemporaryFailure) {
  auto route = mail("refused.test");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->status, LookupStatus::temporary_failure);
  EXPECT_EQ(route->error,
            "The DNS lookup of the MX records of refused.test failed (the DNS server refused the query or "
            "could not be reached); it will be retried.");
}

TEST_F(DnsResolver, DomainLiteralNeedsNoServer) {
  asio::io_context io;
  Resolver resolver(io.get_executor(), "127.0.0.1:1");
  auto route = run(io, resolver.resolve_mail_domain("[127.0.0.9]"));
  ASSERT_TRUE(route);
  ASSERT_EQ(route->status, LookupStatus::ok);
  EXPECT_EQ(route->hosts[0].addresses, (std::vector<asio::ip::address>{ip("127.0.0.9")}));
}

TEST_F(DnsResolver, HostWithIPv4AndIPv6) {
  auto addresses = host("dual.test");
  ASSERT_TRUE(addresses);
  ASSERT_EQ(addresses->status, LookupStatus::ok) << addresses->error;
  EXPECT_EQ(addresses->addresses, (std::vector<asio::ip::address>{ip("127.0.0.30"), ip("::1")}));
}

TEST_F(DnsResolver, HostLookups) {
  auto missing = host("missing.test");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, LookupStatus::no_such_domain);
  EXPECT_NE(missing->error.find("missing.test"), std::string::npos);

  auto literal = host("127.0.0.5");
  ASSERT_TRUE(literal);
  ASSERT_EQ(literal->status, LookupStatus::ok);
  EXPECT_EQ(literal->addresses, (std::vector<asio::ip::address>{ip("127.0.0.5")}));
}

TEST_F(DnsResolver, ServerThatNeverAnswersIsATemporaryFailureWithinTheBound) {
  test::UdpSocket silent;  // bound, never read: queries vanish
  asio::io_context io;
  Resolver resolver(io.get_executor(), "127.0.0.1:" + std::to_string(silent.port()));
  const auto start = Clock::now();
  auto route = run(io, resolver.resolve_mail_domain("two.test"));
  const auto elapsed = Clock::now() - start;
  ASSERT_TRUE(route);
  EXPECT_EQ(route->status, LookupStatus::temporary_failure);
  EXPECT_NE(route->error.find("two.test"), std::string::npos) << route->error;
  EXPECT_GE(elapsed, 900ms);  // it did wait for an answer
  EXPECT_LT(elapsed, 6s);     // c-ares gives up after 1 s + 2 s; the batch deadline is 5 s
}

TEST_F(DnsResolver, LookupsWaitingTheirTurnKeepTheBound) {
  // More lookups than may be out at once, to a server that never answers: those that wait behind the
  // first ones still end within the deadline, which counts from the moment they were asked.
  test::UdpSocket silent;
  asio::io_context io;
  Resolver resolver(io.get_executor(), "127.0.0.1:" + std::to_string(silent.port()));
  constexpr int lookups = 150;
  std::atomic<int> temporary{0};
  std::atomic<long long> slowest_ms{0};
  const auto start = Clock::now();
  for (int i = 0; i < lookups; ++i) {
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          HostAddresses addresses = co_await resolver.resolve_host("dual.test");
          if (addresses.status == LookupStatus::temporary_failure) ++temporary;
          auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
          if (ms > slowest_ms) slowest_ms = ms;
        },
        asio::detached);
  }
  io.run_for(20s);
  EXPECT_EQ(temporary.load(), lookups);
  EXPECT_LT(slowest_ms.load(), 6000) << "the deadline is 5 s";
}

TEST_F(DnsResolver, ServerPortClosedIsATemporaryFailure) {
  std::uint16_t closed_port = 0;
  {
    test::UdpSocket probe;
    closed_port = probe.port();
  }
  asio::io_context io;
  Resolver resolver(io.get_executor(), "127.0.0.1:" + std::to_string(closed_port));
  const auto start = Clock::now();
  auto addresses = run(io, resolver.resolve_host("dual.test"));
  ASSERT_TRUE(addresses);
  EXPECT_EQ(addresses->status, LookupStatus::temporary_failure) << addresses->error;
  EXPECT_LT(Clock::now() - start, 6s);
}

TEST_F(DnsResolver, ManyConcurrentLookupsOnTwoThreads) {
  asio::io_context io;
  Resolver resolver(io.get_executor(), server_->servers());
  // ~700 DNS queries: far more than dnsmasq's socket buffer holds at once, so this also checks that
  // the Resolver paces them (dropped queries would be resent only after 1 s).
  constexpr int lookups = 400;
  std::atomic<int> right{0};
  std::atomic<int> finished{0};
  for (int i = 0; i < lookups; ++i) {
    asio::co_spawn(
        io,
        [&resolver, &right, i]() -> asio::awaitable<void> {
          switch (i % 4) {
            case 0: {
              MailRoute route = co_await resolver.resolve_mail_domain("two.test");
              if (route.status == LookupStatus::ok && route.hosts.size() == 2 &&
                  route.hosts[0].name == "mx1.two.test" && route.hosts[1].addresses.size() == 1) {
                ++right;
              }
              break;
            }
            case 1: {
              MailRoute route = co_await resolver.resolve_mail_domain("bare.test");
              if (route.status == LookupStatus::ok && route.hosts.size() == 1) ++right;
              break;
            }
            case 2: {
              MailRoute route = co_await resolver.resolve_mail_domain("missing.test");
              if (route.status == LookupStatus::no_such_domain) ++right;
              break;
            }
            default: {
              HostAddresses addresses = co_await resolver.resolve_host("dual.test");
              if (addresses.status == LookupStatus::ok && addresses.addresses.size() == 2) ++right;
              break;
            }
          }
        },
        [&finished](std::exception_ptr error) {
          if (error) std::rethrow_exception(error);
          ++finished;
        });
  }
  const auto start = Clock::now();
  std::thread second([&io] { io.run_for(30s); });
  io.run_for(30s);
  second.join();
  EXPECT_EQ(finished.load(), lookups);
  EXPECT_EQ(right.load(), lookups);
  EXPECT_LT(Clock::now() - start, 10s);
}

TEST_F(DnsResolver, DestroyedWithLookupsInFlightEndsThemAsTemporaryFailures) {
  test::UdpSocket silent;
  asio::io_context io;
  auto resolver = std::make_unique<Resolver>(io.get_executor(), "127.0.0.1:" + std::to_string(silent.port()));
  constexpr int lookups = 20;
  std::atomic<int> shut_down{0};
  for (int i = 0; i < lookups; ++i) {
    asio::co_spawn(
        io,
        [&resolver, &shut_down, i]() -> asio::awaitable<void> {
          Resolver& r = *resolver;  // the coroutine must not need the Resolver once it waits
          if (i % 2 == 0) {
            MailRoute route = co_await r.resolve_mail_domain("two.test");
            if (route.status == LookupStatus::temporary_failure &&
                route.error.find("resolver shut down") != std::string::npos) {
              ++shut_down;
            }
          } else {
            HostAddresses addresses = co_await r.resolve_host("dual.test");
            if (addresses.status == LookupStatus::temporary_failure &&
                addresses.error.find("resolver shut down") != std::string::npos) {
              ++shut_down;
            }
          }
        },
        asio::detached);
  }
  io.run_for(200ms);  // every lookup is now waiting for the silent server
  const auto start = Clock::now();
  resolver.reset();
  io.restart();
  io.run_for(10s);
  EXPECT_EQ(shut_down.load(), lookups);
  EXPECT_LT(Clock::now() - start, 1s);  // ended by the shutdown, not by timeouts
}

TEST_F(DnsResolver, IoContextStoppedWithLookupsInFlightThenDestroyed) {
  // The documented order for a daemon that stops: io_context stopped, Resolver destroyed, io_context
  // destroyed. Nothing may run or leak afterwards (the sanitizer build checks the leak part).
  test::UdpSocket silent;
  auto io = std::make_unique<asio::io_context>();
  auto resolver = std::make_unique<Resolver>(io->get_executor(), "127.0.0.1:" + std::to_string(silent.port()));
  auto resumed = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < 10; ++i) {
    asio::co_spawn(
        *io,
        [&resolver, resumed]() -> asio::awaitable<void> {
          (void)co_await resolver->resolve_mail_domain("two.test");
          ++*resumed;
        },
        asio::detached);
  }
  io->run_for(200ms);
  io->stop();
  resolver.reset();
  io.reset();
  EXPECT_EQ(resumed->load(), 0);
}

}  // namespace
}  // namespace transport::dns
