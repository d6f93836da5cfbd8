// ConfigurationStore: where the configuration is kept. One SQLite file is the default (SqliteStore);
// a fleet shares one in PostgreSQL (DESIGN §12). ConfigurationService knows only this interface: load
// the whole configuration, and make one admin change as one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "store/configuration.h"

namespace transport::store {

// The store could not be opened, migrated, read or written. The message says which and why.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The store holds changes the snapshot a change was computed from does not: load it again and redo the
// change against what is there now.
class StaleConfiguration : public StoreError {
 public:
  using StoreError::StoreError;
};

// A fleet's shared store cannot be reached: the node serves its last snapshot and takes no change.
class StoreUnreachable : public StoreError {
 public:
  using StoreError::StoreError;
};

// The connection to a fleet's shared store was lost while a change was being committed: PostgreSQL may
// have made it or not, and this node cannot know which until it reads the store again.
class ChangeOutcomeUnknown : public StoreError {
 public:
  using StoreError::StoreError;
};

// The writes one transaction may make. put() inserts when the object's id is 0 (and sets the id) and
// updates otherwise. Receive connectors are inserted as this node's; updated and removed by id, whichever
// server of a fleet they belong to.
class StoreTransaction {
 public:
  virtual ~StoreTransaction() = default;
  virtual void set_host_name(const std::string& host_name) = 0;
  virtual void put(ReceiveConnector& connector) = 0;
  virtual void put(SendConnector& connector) = 0;  // its auth_password too
  virtual void put(AcceptedDomain& domain) = 0;
  virtual void put(Mailbox& mailbox) = 0;          // its password_hash too
  virtual void put(const RecipientFilterConfig& filter) = 0;
  virtual void put(const TransportServerSettings& settings) = 0;
  virtual void put(const HarvestDefenceConfig& config) = 0;
  virtual void remove_connector(std::int64_t id) = 0;
  virtual void remove_send_connector(std::int64_t id) = 0;
  virtual void remove_accepted_domain(std::int64_t id) = 0;
  virtual void remove_mailbox(std::int64_t id) = 0;
};

class ConfigurationStore {
 public:
  virtual ~ConfigurationStore() = default;

  // True when this open created the schema (a first start): the caller then writes the defaults.
  virtual bool created() const = 0;

  // The whole configuration as committed. Throws StoreError.
  virtual Configuration load() const = 0;

  // Runs `change` in one transaction: committed when it returns, rolled back when it throws (the
  // exception propagates). `based_on` is the version of the snapshot the change was computed from; a
  // shared store throws StaleConfiguration when its version is another (kAnyVersion: no check).
  // Returns the store's version after the change (0 for a store that keeps none).
  static constexpr std::int64_t kAnyVersion = -1;
  virtual std::int64_t transact(const std::function<void(StoreTransaction&)>& change, std::int64_t based_on) = 0;
  void transact(const std::function<void(StoreTransaction&)>& change) { transact(change, kAnyVersion); }
};

}  // namespace transport::store
