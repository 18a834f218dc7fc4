// Covers host/common/source.cpp: span positions and caret excerpts.
#include <gtest/gtest.h>

#include "common/error.hpp"

namespace descent {
namespace {

TEST(Source, PositionsCountLinesAndColumnsFromTheSourceOrigin) {
  auto src = make_source("cfg.toml", "a +\n  b", 7, 12);
  Span first{src, 2, 3};
  EXPECT_EQ(first.where(), "cfg.toml:7:14");
  Span second{src, 6, 7};
  EXPECT_EQ(second.where(), "cfg.toml:8:3");
}

TEST(Source, ErrorRendersLikeACompilerDiagnostic) {
  auto src = make_source("expr", "(x + 1");
  Error e = input_error("expected ')'", Span{src, 6, 6});
  EXPECT_EQ(std::string(e.what()), "expr:1:7: error: expected ')'\n  (x + 1\n        ^");
  EXPECT_EQ(e.code(), ExitCode::bad_input);
}

}  // namespace
}  // namespace descent
