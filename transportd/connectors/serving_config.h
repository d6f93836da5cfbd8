// ServingConfig: a configuration snapshot together with what sessions derive from it once (the
// recipient index). Built once per admin change, shared by every session that starts under it.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "store/configuration.h"
#include "transportd/smtp/recipient_index.h"

namespace asio::ssl {
class context;
}

namespace transport::connectors {

using TlsContexts = std::unordered_map<std::int64_t, std::shared_ptr<asio::ssl::context>>;

struct ServingConfig {
  ServingConfig(store::ConfigurationPtr snapshot, TlsContexts contexts)
      : config(std::move(snapshot)), recipients(*config), tls_contexts(std::move(contexts)) {}
  store::ConfigurationPtr config;
  smtp::RecipientIndex recipients;  // points into *config
  // By connector id, for connectors with Tls in AuthMechanism whose certificate pair loaded. Loaded
  // from the files on every change, so replacing the files and touching the connector reloads them.
  TlsContexts tls_contexts;

  std::shared_ptr<asio::ssl::context> tls_context(std::int64_t connector_id) const {
    auto it = tls_contexts.find(connector_id);
    return it == tls_contexts.end() ? nullptr : it->second;
  }
};

using ServingConfigPtr = std::shared_ptr<const ServingConfig>;

}  // namespace transport::connectors
