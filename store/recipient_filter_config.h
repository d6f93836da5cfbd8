// RecipientFilterConfig: the server's one recipient filter.
#pragma once

#include <string>
#include <vector>

namespace transport::store {

struct RecipientFilterConfig {
  bool recipient_validation_enabled = true;
  bool block_list_enabled = false;
  std::vector<std::string> blocked_recipients;  // normalized addresses
};

}  // namespace transport::store
