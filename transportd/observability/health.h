// Health: the verdict /healthz gives — every Binding of every enabled receive connector is listening.
// Pure: the listener states come from the caller (SmtpServer::binding_status).
#pragma once

#include <functional>
#include <string>

#include "store/configuration.h"

namespace transport::observability {

// "listening", "failed: <reason>" or "not listening" for a Binding, as ListenerManager::status says.
using BindingStatusFn = std::function<std::string(const store::Binding&)>;

// Empty when healthy; otherwise the first Binding that is not listening, its connector and its state:
// "0.0.0.0:25 of connector \"Default MAIL01\": failed: Address already in use".
std::string listener_problem(const store::Configuration& config, const BindingStatusFn& status);

}  // namespace transport::observability
