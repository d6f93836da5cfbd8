// Resolver: asynchronous DNS for MX routing and smart hosts (DESIGN §11), c-ares driven by Asio. No
// lookup ever blocks a thread: c-ares's sockets are watched by the io_context, and every c-ares call is
// made on one strand (a c-ares channel is not thread-safe), so any number of coroutines on any number
// of threads may ask at once. c-ares stays out of this header.
//
// Time bound: each DNS question gets 1 s, then 2 s (c-ares's doubling, two tries per server), and every
// lookup (a question or the set of questions asked together) gives up after 5 s with temporary_failure,
// however many servers resolv.conf lists. resolve_mail_domain asks at most twice in a row (MX, then the
// hosts' addresses together), so it answers within 10 s, usually within one round trip or two. At most
// 64 c-ares lookups are out at once; the rest wait their turn, inside the same 5 s.
//
// Names are looked up in DNS only (like Postfix's smtp_host_lookup=dns): /etc/hosts is not read, so a
// smart host known only there is configured by its address. No search list is applied.
//
// Lifetime rule: like any Asio I/O object, destroy the Resolver before its io_context. It may be
// destroyed from any thread while lookups are in flight: they then complete with temporary_failure
// ("resolver shut down") once the io_context runs them; if the io_context is stopped and destroyed
// instead, their coroutines are destroyed with it, as Asio's own pending operations are.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <memory>
#include <string>

#include "transportd/dns/mail_route.h"

namespace transport::dns {

class Resolver {
 public:
  // servers: "" for the system's resolv.conf; otherwise c-ares's servers list with ports, e.g.
  // "127.0.0.1:5353" (tests) or "192.0.2.53,[2001:db8::53]:53". Throws std::runtime_error when c-ares
  // cannot start or the list does not parse. Reads resolv.conf here, once (a small local file).
  Resolver(asio::any_io_executor executor, const std::string& servers);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // The hosts to try for mail to `domain`, in order: its MX hosts by preference, each with its
  // addresses (A and AAAA); with no MX record, the domain's own addresses (the implicit MX, RFC 5321
  // §5.1). A domain literal ("[192.0.2.1]") is its own answer. Decisions are mail_route.h's.
  asio::awaitable<MailRoute> resolve_mail_domain(std::string domain);

  // A smart host's addresses (A and AAAA, IPv4 and IPv6 alternately); an address literal is its own.
  asio::awaitable<HostAddresses> resolve_host(std::string host);

  class Impl;  // resolver.cpp: the c-ares channel and its sockets

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace transport::dns
