// Configuration: one immutable snapshot of everything the daemon serves with. Built from the store,
// replaced whole after each admin change; sessions keep the snapshot they started with.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/accepted_domain.h"
#include "store/harvest_defence_config.h"
#include "store/mailbox.h"
#include "store/receive_connector.h"
#include "store/recipient_filter_config.h"
#include "store/send_connector.h"
#include "store/transport_server_settings.h"

namespace transport::store {

// Another server's receive connectors, as a fleet's shared store holds them (DESIGN §12).
struct ServerConnectors {
  std::string server;  // its HOST
  std::vector<ReceiveConnector> connectors;
};

struct Configuration {
  std::string host_name;  // the TransportServer's name: the HOST in HOST\Name identities
  std::vector<ReceiveConnector> connectors;  // this server's: the ones it listens with
  // The other servers' connectors in a fleet (by server name; empty with SQLite): receive connectors
  // belong to one server, everything else below is shared by all.
  std::vector<ServerConnectors> other_servers;
  std::vector<AcceptedDomain> accepted_domains;
  std::vector<Mailbox> mailboxes;
  std::vector<SendConnector> send_connectors;
  RecipientFilterConfig recipient_filter;
  TransportServerSettings transport_server;
  HarvestDefenceConfig harvest_defence;
  // Changes committed to a fleet's shared store when this snapshot was read (0 with SQLite): a change
  // computed from it is refused when another node committed one since (StaleConfiguration).
  std::int64_t version = 0;
};

using ConfigurationPtr = std::shared_ptr<const Configuration>;

}  // namespace transport::store
