// Covers host/common/json_parse.cpp (Json::parse and the value accessors): what the writer
// dumps reads back to the same value and the same text (doubles bit for bit, integers exactly,
// escapes, nesting), RFC 8259's forms are accepted, and malformed text is an input_error at its
// line and column.
#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "common/json.hpp"

namespace descent {
namespace {

TEST(JsonParse, WhatTheWriterDumpsReadsBackToTheSameText) {
  Json value = Json::object();
  value.set("pi", 3.141592653589793)
      .set("tiny", 5e-324)
      .set("third", 1.0 / 3.0)
      .set("big", std::int64_t{9007199254740993})
      .set("negative", -0.1)
      .set("text", "quote \" backslash \\ tab \t newline \n bell \x07 é")
      .set("flags", Json::array({true, false, nullptr}))
      .set("nested", Json::object().set("rows", Json::array({Json::array({1, 2}), Json::array()})));
  for (int indent : {-1, 2}) {
    const std::string text = value.dump(indent);
    const Json back = Json::parse(text, "value.json");
    EXPECT_EQ(back.dump(indent), text);
    EXPECT_EQ(back.find("third")->as_double(), 1.0 / 3.0);
    EXPECT_EQ(back.find("tiny")->as_double(), 5e-324);
    EXPECT_EQ(back.find("big")->type(), Json::Type::integer);
    EXPECT_EQ(back.find("big")->as_integer(), 9007199254740993);
    EXPECT_EQ(back.find("text")->as_string(),
              "quote \" backslash \\ tab \t newline \n bell \x07 é");
    EXPECT_TRUE(back.find("flags")->at(0).as_bool());
    EXPECT_TRUE(back.find("flags")->at(2).is_null());
    EXPECT_EQ(back.find("nested")->find("rows")->at(0).at(1).as_integer(), 2);
    EXPECT_EQ(back.keys().front(), "pi");
  }
}

TEST(JsonParse, AcceptsTheFormsOfTheStandard) {
  const Json v = Json::parse(
      " {\"a\" : [ 1e2, -0, 0.5E-1, 12, \"\\u00e9\\ud83d\\ude00\\/\" ] ,\r\n\"b\":{}} \n", "x");
  const Json& a = *v.find("a");
  EXPECT_EQ(a.at(0).as_double(), 100.0);
  EXPECT_EQ(a.at(0).type(), Json::Type::number);
  EXPECT_EQ(a.at(1).as_double(), 0.0);
  EXPECT_EQ(a.at(2).as_double(), 0.05);
  EXPECT_EQ(a.at(3).as_integer(), 12);
  EXPECT_EQ(a.at(4).as_string(), "\xc3\xa9\xf0\x9f\x98\x80/");
  EXPECT_EQ(v.find("b")->size(), 0u);
  // An integer beyond int64 is a double.
  EXPECT_EQ(Json::parse("123456789012345678901", "x").type(), Json::Type::number);
}

std::string error_of(const std::string& text) {
  try {
    Json::parse(text, "f.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    return e.render();
  }
  ADD_FAILURE() << "no error for: " << text;
  return {};
}

TEST(JsonParse, MalformedTextIsAnErrorAtItsLineAndColumn) {
  EXPECT_NE(error_of("{\"a\": 1,\n \"b\": }")
                .find("f.json:2:7: error: malformed JSON: expected a "
                      "value"),
            std::string::npos)
      << error_of("{\"a\": 1,\n \"b\": }");
  EXPECT_NE(error_of("[1, 2,]").find("f.json:1:7:"), std::string::npos);
  EXPECT_NE(error_of("{\"a\": 1} x").find("unexpected text after the JSON value"),
            std::string::npos);
  EXPECT_NE(error_of("{\"a\": 1, \"a\": 2}").find("appears twice"), std::string::npos);
  EXPECT_NE(error_of("[01]").find("may not start with 0"), std::string::npos);
  EXPECT_NE(error_of("[1e999]").find("out of the range"), std::string::npos);
  EXPECT_NE(error_of("\"abc").find("not closed"), std::string::npos);
  EXPECT_NE(error_of("\"a\\x\"").find("unknown escape"), std::string::npos);
  EXPECT_NE(error_of("NaN").find("expected a value"), std::string::npos);
  EXPECT_NE(error_of("").find("unexpected end"), std::string::npos);
  EXPECT_NE(error_of(std::string(300, '[')).find("nested deeper than 256"), std::string::npos);
}

}  // namespace
}  // namespace descent
