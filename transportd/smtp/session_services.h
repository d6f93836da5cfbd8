// SessionServices: the long-lived services every session uses, owned by the SMTP server.
#pragma once

#include <asio/thread_pool.hpp>

#include <filesystem>

#include "transportd/auth/password_verifier.h"
#include "transportd/delivery/maildir.h"

namespace transport::tracking {
class TrackingLog;
}
namespace transport::protocol_log {
class ProtocolLogWriter;
}
namespace transport::reputation {
class SourceReputation;
}
namespace transport::queue {
class QueueStore;
}
namespace transport::relay {
class QueueManager;
}

namespace transport::smtp {

// Long-lived services every session uses.
struct SessionServices {
  delivery::MaildirStore& mailboxes;  // DATA_DIR/mailboxes
  asio::thread_pool& delivery_pool;   // fsync-heavy work happens here, never on an I/O thread
  auth::PasswordVerifier& passwords;  // AUTH verification (argon2id, ~100 ms each), fair between sources
  tracking::TrackingLog* tracking = nullptr;  // message tracking; null when off
  protocol_log::ProtocolLogWriter* protocol_log = nullptr;  // for connectors at ProtocolLoggingLevel Verbose
  std::filesystem::path spool_directory;  // DATA_DIR/spool: messages being received (delivery::SpoolFile)
  reputation::SourceReputation* reputation = nullptr;  // the harvest defence's memory; null = off
  // The durable queue (DESIGN §11): a message with relayed recipients, or recipients due a non-delivery
  // report, is added to the store before its 250 and then handed to the manager.
  queue::QueueStore* queue_store = nullptr;
  relay::QueueManager* queue = nullptr;
};

}  // namespace transport::smtp
