// Sample objects for the configuration store tests (SQLite's and the contract both stores keep): values
// that exercise the row format (a list, an unlimited count, a comma inside a text).
#pragma once

#include <optional>

#include "store/receive_connector.h"

namespace transport::test {

inline store::ReceiveConnector sample_connector() {
  store::ReceiveConnector c;
  c.name = "Default MAIL01";
  c.bindings = {store::Binding::parse("127.0.0.1:2525"), store::Binding::parse("[::1]:2525")};
  c.tarpit_interval = store::TimeSpan::from_seconds(10);
  c.fqdn = "mail01.example.com";
  c.max_inbound_connection = std::nullopt;
  c.comment = "has, a comma and 'quotes' and \"doubles\"";
  return c;
}

}  // namespace transport::test
