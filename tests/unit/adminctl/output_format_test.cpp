// adminctl unit tests: --select resolution and the table, list, json and name formats (golden text).
#include <gtest/gtest.h>

#include "adminctl/output_format.h"
#include "adminctl/properties.h"
#include "adminctl/usage_error.h"
#include "transport_admin.pb.h"

namespace adminctl {
namespace {

namespace v1 = transport::admin::v1;

class OutputFormatTest : public ::testing::Test {
 protected:
  OutputFormatTest() {
    main_.set_identity("MAIL01\\Default");
    main_.set_name("Default");
    main_.add_bindings("0.0.0.0:25");
    main_.add_bindings("[::]:25");
    main_.add_remote_ip_ranges("0.0.0.0-255.255.255.255");
    main_.set_tarpit_interval("00:00:05");
    main_.set_enabled(true);
    main_.set_max_recipients_per_message(200);

    trusted_.set_identity("MAIL01\\Trusted");
    trusted_.set_name("Trusted");
    trusted_.add_bindings("127.0.0.1:25");
    trusted_.add_remote_ip_ranges("127.0.0.2");
    trusted_.set_tarpit_interval("00:00:00");
    trusted_.set_enabled(false);
  }

  static Properties select(const std::string& names) {
    return resolve_select(*v1::ReceiveConnector::descriptor(), {names});
  }
  static Properties default_columns() {
    return select("Identity,Bindings,RemoteIPRanges,TarpitInterval,Enabled");
  }

  v1::ReceiveConnector main_;
  v1::ReceiveConnector trusted_;
};

TEST_F(OutputFormatTest, SelectResolvesExchangeNamesInGivenOrder) {
  std::vector<std::string> names;
  for (const auto* field : select("tarpitinterval, NAME,Enabled")) names.push_back(field->json_name());
  EXPECT_EQ(names, (std::vector<std::string>{"TarpitInterval", "Name", "Enabled"}));

  names.clear();
  for (const auto* field : resolve_select(*v1::ReceiveConnector::descriptor(), {"Enabled", "Name,enabled"})) {
    names.push_back(field->json_name());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Enabled", "Name"}));  // occurrences concatenate, duplicates drop
  EXPECT_EQ(select("*").size(), static_cast<std::size_t>(v1::ReceiveConnector::descriptor()->field_count()));
}

TEST_F(OutputFormatTest, SelectRejectsUnknownNamesListingTheValidOnes) {
  try {
    select("Name,NoSuchProperty");
    FAIL() << "expected a UsageError";
  } catch (const UsageError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'NoSuchProperty'"), std::string::npos) << message;
    EXPECT_NE(message.find("valid: Identity, Name, Bindings, RemoteIPRanges, TarpitInterval"), std::string::npos)
        << message;
  }
  EXPECT_THROW(select("tarpit-interval"), UsageError);  // Exchange names, not flag names
  EXPECT_THROW(select(","), UsageError);
}

TEST(ParseFormat, KnowsTheFourFormats) {
  EXPECT_EQ(parse_format("table"), OutputFormat::Table);
  EXPECT_EQ(parse_format("LIST"), OutputFormat::List);
  EXPECT_EQ(parse_format("Json"), OutputFormat::Json);
  EXPECT_EQ(parse_format("name"), OutputFormat::Name);
  EXPECT_THROW(parse_format("yaml"), UsageError);
  EXPECT_THROW(parse_format(""), UsageError);
}

TEST_F(OutputFormatTest, TablePadsColumnsToTheWidestCell) {
  EXPECT_EQ(format_table({&main_, &trusted_}, default_columns()),
            "Identity        Bindings            RemoteIPRanges           TarpitInterval  Enabled\n"
            "--------        --------            --------------           --------------  -------\n"
            "MAIL01\\Default  0.0.0.0:25,[::]:25  0.0.0.0-255.255.255.255  00:00:05        True\n"
            "MAIL01\\Trusted  127.0.0.1:25        127.0.0.2                00:00:00        False\n");
}

TEST_F(OutputFormatTest, TableWithSelectedColumnsAndOddCells) {
  trusted_.set_comment("line1\nline2\tend");  // control characters would break the row
  trusted_.clear_remote_ip_ranges();
  EXPECT_EQ(format_table({&trusted_}, select("Comment,RemoteIPRanges,MaxRecipientsPerMessage")),
            "Comment          RemoteIPRanges  MaxRecipientsPerMessage\n"
            "-------          --------------  -----------------------\n"
            "line1 line2 end                  0\n");
  EXPECT_EQ(format_table({}, default_columns()), "");
}

TEST_F(OutputFormatTest, TableCountsUtf8CharactersNotBytes) {
  main_.set_comment("Zürich");
  trusted_.set_comment("Bern");
  EXPECT_EQ(format_table({&main_, &trusted_}, select("Comment,Name")),
            "Comment  Name\n"
            "-------  ----\n"
            "Zürich   Default\n"
            "Bern     Trusted\n");
}

TEST_F(OutputFormatTest, ListShowsOneBlockPerObject) {
  EXPECT_EQ(format_list({&main_, &trusted_}, select("Name,TarpitInterval,Enabled,Bindings,Comment")),
            "Name           : Default\n"
            "TarpitInterval : 00:00:05\n"
            "Enabled        : True\n"
            "Bindings       : 0.0.0.0:25,[::]:25\n"
            "Comment        : \n"
            "\n"
            "Name           : Trusted\n"
            "TarpitInterval : 00:00:00\n"
            "Enabled        : False\n"
            "Bindings       : 127.0.0.1:25\n"
            "Comment        : \n");
  EXPECT_EQ(format_list({}, select("Name")), "");
}

TEST_F(OutputFormatTest, ListOfEveryPropertyInFieldOrder) {
  // Names are padded to the longest, MaxInboundConnectionPercentagePerSource (39 characters).
  auto line = [](const std::string& name, const std::string& value) {
    return name + std::string(39 - name.size(), ' ') + " : " + value + "\n";
  };
  const std::string listing = format_list({&main_}, all_fields(*v1::ReceiveConnector::descriptor()));
  const std::string head = line("Identity", "MAIL01\\Default") + line("Name", "Default") +
                           line("Bindings", "0.0.0.0:25,[::]:25");
  EXPECT_EQ(listing.substr(0, head.size()), head);
  EXPECT_NE(listing.find(line("MaxRecipientsPerMessage", "200")), std::string::npos);
  EXPECT_NE(listing.find(line("MaxInboundConnectionPercentagePerSource", "0")), std::string::npos);
  EXPECT_NE(listing.find(line("Comment", "")), std::string::npos);
  EXPECT_EQ(listing.substr(listing.size() - 43), line("BindingStatus", ""));  // the last field
}

TEST_F(OutputFormatTest, JsonHasArraysNumbersBoolsAndSelectOrder) {
  trusted_.clear_remote_ip_ranges();
  EXPECT_EQ(format_json({&main_, &trusted_}, select("Name,Bindings,RemoteIPRanges,MaxRecipientsPerMessage,Enabled"),
                        false),
            "[\n"
            "  {\n"
            "    \"Name\": \"Default\",\n"
            "    \"Bindings\": [\"0.0.0.0:25\", \"[::]:25\"],\n"
            "    \"RemoteIPRanges\": [\"0.0.0.0-255.255.255.255\"],\n"
            "    \"MaxRecipientsPerMessage\": 200,\n"
            "    \"Enabled\": true\n"
            "  },\n"
            "  {\n"
            "    \"Name\": \"Trusted\",\n"
            "    \"Bindings\": [\"127.0.0.1:25\"],\n"
            "    \"RemoteIPRanges\": [],\n"
            "    \"MaxRecipientsPerMessage\": 0,\n"
            "    \"Enabled\": false\n"
            "  }\n"
            "]\n");
  EXPECT_EQ(format_json({}, select("Name"), false), "[]\n");
}

TEST_F(OutputFormatTest, JsonEscapesQuotesBackslashesAndControlCharacters) {
  main_.set_comment(std::string("say \"hi\" C:\\dir\ttab\nnew\rret\b\f\x01\x1f\x7f end é"));
  EXPECT_EQ(format_json({&main_}, select("Identity,Comment"), false),
            "[\n"
            "  {\n"
            "    \"Identity\": \"MAIL01\\\\Default\",\n"
            "    \"Comment\": \"say \\\"hi\\\" C:\\\\dir\\ttab\\nnew\\rret\\b\\f\\u0001\\u001f\\u007f end é\"\n"
            "  }\n"
            "]\n");
  EXPECT_EQ(json_quote(std::string("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(json_quote(""), "\"\"");
}

TEST(OutputFormat, JsonOfTheSingletonIsOneObject) {
  v1::RecipientFilterConfig config;
  config.set_recipient_validation_enabled(true);
  config.add_blocked_recipients("ceo@example.com");
  config.add_blocked_recipients("cfo@example.com");
  EXPECT_EQ(format_json({&config}, all_fields(*v1::RecipientFilterConfig::descriptor()), true),
            "{\n"
            "  \"RecipientValidationEnabled\": true,\n"
            "  \"BlockListEnabled\": false,\n"
            "  \"BlockedRecipients\": [\"ceo@example.com\", \"cfo@example.com\"]\n"
            "}\n");
}

TEST_F(OutputFormatTest, NamesAreIdentitiesOnePerLine) {
  const auto& descriptor = *v1::ReceiveConnector::descriptor();
  EXPECT_EQ(format_names({&main_, &trusted_}, *descriptor.FindFieldByName("identity"),
                         *descriptor.FindFieldByName("name")),
            "MAIL01\\Default\nMAIL01\\Trusted\n");
  trusted_.clear_identity();
  EXPECT_EQ(format_names({&trusted_}, *descriptor.FindFieldByName("identity"), *descriptor.FindFieldByName("name")),
            "Trusted\n");
  EXPECT_EQ(format_names({}, *descriptor.FindFieldByName("identity"), *descriptor.FindFieldByName("name")), "");
}

TEST(OutputFormat, DisplayValueOfMailbox) {
  v1::Mailbox mailbox;
  mailbox.set_primary_smtp_address("alice@example.com");
  mailbox.add_email_addresses("al@example.com");
  mailbox.add_email_addresses("a@example.com");
  mailbox.set_has_password(true);
  const auto& descriptor = *v1::Mailbox::descriptor();
  EXPECT_EQ(display_value(mailbox, *descriptor.FindFieldByName("email_addresses")), "al@example.com,a@example.com");
  EXPECT_EQ(display_value(mailbox, *descriptor.FindFieldByName("has_password")), "True");
  EXPECT_EQ(display_value(mailbox, *descriptor.FindFieldByName("display_name")), "");
}

}  // namespace
}  // namespace adminctl
