// Health: the verdict /healthz gives — every Binding of every enabled receive connector is listening,
// and every connector that offers TLS has a certificate pair that loads.
// Pure: the listener states come from the caller (SmtpServer::binding_status).
#pragma once

#include <functional>
#include <string>

#include "store/configuration.h"

namespace transport::observability {

// A connector's Binding as SmtpServer::binding_status says: "listening" when all is well; otherwise
// "failed: <reason>", "not listening", or a state followed by "; STARTTLS off: <why>".
using BindingStatusFn = std::function<std::string(const store::ReceiveConnector&, const store::Binding&)>;

// Empty when healthy; otherwise the first Binding whose status is not "listening", its connector and its state:
// "0.0.0.0:25 of connector \"Default MAIL01\": failed: Address already in use".
std::string listener_problem(const store::Configuration& config, const BindingStatusFn& status);

}  // namespace transport::observability
