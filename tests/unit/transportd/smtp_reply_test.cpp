// Reply wire form: single and multi-line replies, with and without enhanced status codes.
#include "transportd/smtp/reply.h"

#include <gtest/gtest.h>

namespace transport::smtp {
namespace {

struct Case {
  Reply reply;
  bool enhanced;
  const char* wire;
};

TEST(SmtpReply, WireForm) {
  const Case cases[] = {
      {{250, "2.0.0", "OK"}, true, "250 2.0.0 OK\r\n"},
      {{250, "2.0.0", "OK"}, false, "250 OK\r\n"},
      {{354, "", "Start mail input"}, true, "354 Start mail input\r\n"},
      {{220, "", "mx.example.com ESMTP"}, true, "220 mx.example.com ESMTP\r\n"},
      {{250, "", "mx Hello [192.0.2.1]\nPIPELINING\nSIZE 1024"}, true,
       "250-mx Hello [192.0.2.1]\r\n250-PIPELINING\r\n250 SIZE 1024\r\n"},
      {{214, "2.0.0", "one\ntwo"}, true, "214-2.0.0 one\r\n214 2.0.0 two\r\n"},
      {{214, "2.0.0", "one\ntwo"}, false, "214-one\r\n214 two\r\n"},
      {{250, "2.0.0", "trailing newline\n"}, true, "250 2.0.0 trailing newline\r\n"},
      {{250, "", ""}, true, "250\r\n"},
      {{250, "2.0.0", ""}, true, "250 2.0.0\r\n"},
      {{334, "", ""}, true, "334 \r\n"},  // the empty SASL challenge keeps its space
      {{550, "5.1.1", "no\rCR"}, true, "550 5.1.1 noCR\r\n"},
      {{0, "", "not written"}, true, ""},
  };
  for (const Case& c : cases) {
    std::string out = "before|";
    append_reply(out, c.reply, c.enhanced);
    EXPECT_EQ(out, std::string("before|") + c.wire) << c.reply.text;
  }
}

TEST(SmtpReply, PermanentFailure) {
  EXPECT_TRUE((Reply{550, "5.1.1", ""}.permanent_failure()));
  EXPECT_TRUE((Reply{500, "", ""}.permanent_failure()));
  EXPECT_FALSE((Reply{452, "4.5.3", ""}.permanent_failure()));
  EXPECT_FALSE((Reply{250, "", ""}.permanent_failure()));
  EXPECT_FALSE((Reply{}.permanent_failure()));
}

}  // namespace
}  // namespace transport::smtp
