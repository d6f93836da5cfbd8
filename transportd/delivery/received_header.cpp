// received_header: formats the Received: and Return-Path: trace lines, keeping the client-supplied
// HELO name and addresses from injecting header lines or control bytes.
#include "transportd/delivery/received_header.h"

#include <string_view>

#include "transportd/rfc5322_date.h"

namespace transport::delivery {
namespace {

constexpr std::size_t kMaxHeloLength = 255;

// Drops CR, LF and other control bytes: a HELO of "x\r\nX-Injected: 1" must stay on its line.
std::string without_controls(std::string_view text, std::size_t max_length) {
  std::string out;
  for (char c : text) {
    if (out.size() == max_length) break;
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) continue;
    out += c;
  }
  return out;
}

// RFC 5321 §4.1.3 address literal: "[192.0.2.1]", "[IPv6:2001:db8::1]".
std::string address_literal(std::string_view ip) {
  const std::string clean = without_controls(ip, std::string::npos);
  return clean.find(':') == std::string::npos ? "[" + clean + "]" : "[IPv6:" + clean + "]";
}

}  // namespace

std::string_view received_protocol(const ReceivedVia& via) {
  if (!via.extended) return "SMTP";
  static constexpr std::string_view kNames[2][2][2] = {
      // [smtputf8][tls][authenticated]
      {{"ESMTP", "ESMTPA"}, {"ESMTPS", "ESMTPSA"}},
      {{"UTF8SMTP", "UTF8SMTPA"}, {"UTF8SMTPS", "UTF8SMTPSA"}},
  };
  return kNames[via.smtputf8][via.tls][via.authenticated];
}

std::string return_path_header(std::string_view mail_from) {
  return "Return-Path: <" + without_controls(mail_from, std::string::npos) + ">\r\n";
}

std::string received_header(const ReceivedInfo& info) {
  constexpr std::size_t kNoLimit = std::string::npos;
  std::string helo = without_controls(info.helo_name, kMaxHeloLength);
  if (helo.empty()) helo = "unknown";
  std::string header = "Received: from " + helo + " (" + address_literal(info.client_ip) + ")\r\n";
  header += "\tby " + without_controls(info.server_fqdn, kNoLimit) + " (transportd, connector " +
            without_controls(info.connector_name, kNoLimit) + ") with " + without_controls(info.protocol, kNoLimit) +
            " id " + without_controls(info.queue_id, kNoLimit);
  if (info.recipient.empty()) {
    header += ";\r\n\t";
  } else {
    header += "\r\n\tfor " + without_controls(info.recipient, kNoLimit) + "; ";
  }
  header += rfc5322_date(info.when) + "\r\n";
  return header;
}

}  // namespace transport::delivery
