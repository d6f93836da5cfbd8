// ServingConfig: a configuration snapshot together with what sessions derive from it once (the
// recipient index). Built once per admin change, shared by every session that starts under it.
#pragma once

#include <memory>

#include "store/configuration.h"
#include "transportd/smtp/recipient_index.h"

namespace transport::connectors {

struct ServingConfig {
  explicit ServingConfig(store::ConfigurationPtr snapshot) : config(std::move(snapshot)), recipients(*config) {}
  store::ConfigurationPtr config;
  smtp::RecipientIndex recipients;  // points into *config
};

using ServingConfigPtr = std::shared_ptr<const ServingConfig>;

}  // namespace transport::connectors
