// ServingConfig: a configuration snapshot together with what sessions derive from it once (the
// recipient router). Built once per admin change, shared by every session that starts under it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "store/configuration.h"
#include "transportd/routing/recipient_router.h"

namespace asio::ssl {
class context;
}

namespace transport::smtp {

using TlsContexts = std::unordered_map<std::int64_t, std::shared_ptr<asio::ssl::context>>;
using TlsProblems = std::unordered_map<std::int64_t, std::string>;

struct ServingConfig {
  ServingConfig(store::ConfigurationPtr snapshot, TlsContexts contexts, TlsProblems problems = {})
      : config(std::move(snapshot)),
        recipients(*config),
        tls_contexts(std::move(contexts)),
        tls_problems(std::move(problems)) {}
  store::ConfigurationPtr config;
  routing::RecipientRouter recipients;  // points into *config
  // By connector id, for connectors with Tls in AuthMechanism whose certificate pair loaded. Checked
  // against the files on every change (reloaded when a file changed), so replacing the files and
  // touching the connector reloads them.
  TlsContexts tls_contexts;
  // By connector id, for connectors with Tls in AuthMechanism whose pair does not load: why. These
  // connectors do not offer STARTTLS (DESIGN §3).
  TlsProblems tls_problems;

  std::shared_ptr<asio::ssl::context> tls_context(std::int64_t connector_id) const {
    auto it = tls_contexts.find(connector_id);
    return it == tls_contexts.end() ? nullptr : it->second;
  }
  // "" when the connector's pair loaded or it does not offer TLS.
  std::string tls_problem(std::int64_t connector_id) const {
    auto it = tls_problems.find(connector_id);
    return it == tls_problems.end() ? std::string() : it->second;
  }
};

using ServingConfigPtr = std::shared_ptr<const ServingConfig>;

}  // namespace transport::smtp
