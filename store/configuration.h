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

struct Configuration {
  std::string host_name;  // the TransportServer's name: the HOST in HOST\Name identities
  std::vector<ReceiveConnector> connectors;
  std::vector<AcceptedDomain> accepted_domains;
  std::vector<Mailbox> mailboxes;
  std::vector<SendConnector> send_connectors;
  RecipientFilterConfig recipient_filter;
  TransportServerSettings transport_server;
  HarvestDefenceConfig harvest_defence;
};

using ConfigurationPtr = std::shared_ptr<const Configuration>;

}  // namespace transport::store
