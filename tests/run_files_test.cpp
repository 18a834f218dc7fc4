// Covers host/common/json.{hpp,cpp} and host/run/ (metrics_log, loss_plot, run_directory): JSON
// escaping and number round trips, the builder's layouts, the metrics logs and their resume
// truncation, the loss chart (well-formed XML, scales, decimation) and the manifest.
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "run/loss_plot.hpp"
#include "run/metrics_log.hpp"
#include "run/run_directory.hpp"

namespace descent {
namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A fresh directory per test, removed afterwards.
class RunFiles : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("descent_run_files_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// ---------------------------------------------------------------------------------------------
// JSON

TEST(Json, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Json("say \"hi\"").dump(), R"("say \"hi\"")");
  EXPECT_EQ(Json("C:\\path\\file").dump(), R"("C:\\path\\file")");
  EXPECT_EQ(Json("a\nb\tc\rd\be\ff").dump(), R"("a\nb\tc\rd\be\ff")");
  EXPECT_EQ(Json(std::string("\x01\x1f\x00z", 4)).dump(), R"("\u0001\u001f\u0000z")");
  EXPECT_EQ(Json("/ and \x7f stay").dump(), "\"/ and \x7f stay\"");
}

TEST(Json, PassesUnicodeThroughUnchanged) {
  const std::string text = "caf\xC3\xA9 \xE2\x88\x87 \xF0\x9F\x98\x80";  // café ∇ 😀 in UTF-8
  EXPECT_EQ(Json(text).dump(), "\"" + text + "\"");
}

TEST(Json, WritesNumbersShortestAndNonFiniteAsNull) {
  EXPECT_EQ(Json(0.1).dump(), "0.1");
  EXPECT_EQ(Json(3.0).dump(), "3");
  EXPECT_EQ(Json(-0.0).dump(), "-0");
  EXPECT_EQ(Json(1e21).dump(), "1e+21");
  EXPECT_EQ(Json(1.5e-7).dump(), "1.5e-07");
  EXPECT_EQ(Json(0.25f).dump(), "0.25");
  EXPECT_EQ(Json(kNaN).dump(), "null");
  EXPECT_EQ(Json(kInf).dump(), "null");
  EXPECT_EQ(Json(-kInf).dump(), "null");
  EXPECT_EQ(Json(std::numeric_limits<std::int64_t>::min()).dump(), "-9223372036854775808");
  EXPECT_EQ(Json(42).dump(), "42");
  EXPECT_EQ(Json(true).dump(), "true");
  EXPECT_EQ(Json().dump(), "null");
}

// Every finite double written by the JSON writer reads back bit for bit with strtod.
TEST(Json, DoublesRoundTripExactlyThroughStrtod) {
  std::vector<double> values = {0.1,
                                1.0 / 3.0,
                                -2.5e-300,
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::denorm_min(),
                                std::numeric_limits<double>::epsilon(),
                                -0.0,
                                123456789012345678.0,
                                9007199254740993.0};
  std::mt19937_64 bits(12345);
  while (values.size() < 10000) {
    const double value = std::bit_cast<double>(bits());
    if (std::isfinite(value)) values.push_back(value);
  }
  for (double value : values) {
    const std::string text = Json(value).dump();
    const double back = std::strtod(text.c_str(), nullptr);
    ASSERT_EQ(std::bit_cast<std::uint64_t>(back), std::bit_cast<std::uint64_t>(value)) << text;
  }
}

TEST(Json, BuildsNestedValuesCompactAndIndented) {
  Json doc = Json::object()
                 .set("name", "logistic")
                 .set("steps", 100)
                 .set("shape", Json::array({2, 3}))
                 .set("empty", Json::object())
                 .set("loss", Json::object().set("final", 0.5).set("best", kNaN));
  doc.set("steps", 200);  // replaces in place: the order stays
  EXPECT_EQ(doc.dump(), R"({"name":"logistic","steps":200,"shape":[2,3],"empty":{},)"
                        R"("loss":{"final":0.5,"best":null}})");
  EXPECT_EQ(doc.dump(2),
            "{\n"
            "  \"name\": \"logistic\",\n"
            "  \"steps\": 200,\n"
            "  \"shape\": [\n"
            "    2,\n"
            "    3\n"
            "  ],\n"
            "  \"empty\": {},\n"
            "  \"loss\": {\n"
            "    \"final\": 0.5,\n"
            "    \"best\": null\n"
            "  }\n"
            "}");
  ASSERT_NE(doc.find("loss"), nullptr);
  EXPECT_EQ(doc.find("loss")->size(), 2u);
  EXPECT_EQ(doc.find("missing"), nullptr);
  EXPECT_EQ(Json::array().push(1).push("two").push(Json()).dump(), R"([1,"two",null])");
}

TEST(Json, KeysAreEscapedToo) { EXPECT_EQ(Json::object().set("a\"b", 1).dump(), R"({"a\"b":1})"); }

// ---------------------------------------------------------------------------------------------
// Metrics logs

MetricsRow row(long step, double loss, std::optional<double> val_loss = std::nullopt) {
  MetricsRow r;
  r.step = step;
  r.epoch = step / 10;
  r.loss = loss;
  r.val_loss = val_loss;
  r.lr = 0.01;
  r.grad_norm = 1.5;
  r.samples_per_s = 2048;
  r.wall_s = 0.125 * static_cast<double>(step);
  return r;
}

TEST_F(RunFiles, MetricsLogWritesCsvAndJsonLinesRowByRow) {
  MetricsLog log = MetricsLog::create(dir_);
  log.append(row(1, 0.693));
  // Each row is flushed: it is in the files before the log is closed.
  EXPECT_EQ(read_file(dir_ / "metrics.csv"),
            "step,epoch,loss,val_loss,lr,grad_norm,samples_per_s,wall_s\n"
            "1,0,0.693,,0.01,1.5,2048,0.125\n");
  log.append(row(10, 0.1, 0.2));
  log.append(row(11, kNaN));
  EXPECT_EQ(read_file(log.csv_path()),
            "step,epoch,loss,val_loss,lr,grad_norm,samples_per_s,wall_s\n"
            "1,0,0.693,,0.01,1.5,2048,0.125\n"
            "10,1,0.1,0.2,0.01,1.5,2048,1.25\n"
            "11,1,nan,,0.01,1.5,2048,1.375\n");
  EXPECT_EQ(read_file(log.jsonl_path()),
            R"({"step":1,"epoch":0,"loss":0.693,"val_loss":null,"lr":0.01,"grad_norm":1.5,)"
            R"("samples_per_s":2048,"wall_s":0.125})"
            "\n"
            R"({"step":10,"epoch":1,"loss":0.1,"val_loss":0.2,"lr":0.01,"grad_norm":1.5,)"
            R"("samples_per_s":2048,"wall_s":1.25})"
            "\n"
            R"({"step":11,"epoch":1,"loss":null,"val_loss":null,"lr":0.01,"grad_norm":1.5,)"
            R"("samples_per_s":2048,"wall_s":1.375})"
            "\n");
}

TEST_F(RunFiles, MetricsLogCreateReplacesAnOldLog) {
  MetricsLog::create(dir_).append(row(1, 1.0));
  MetricsLog::create(dir_);
  EXPECT_EQ(read_file(dir_ / "metrics.csv"), std::string(MetricsLog::kCsvHeader) + "\n");
  EXPECT_EQ(read_file(dir_ / "metrics.jsonl"), "");
}

// A run checkpointed at step 3 and killed at step 5, in the middle of writing step 6, resumes
// from step 3: rows 4, 5 and the torn row 6 go, new rows follow row 3.
TEST_F(RunFiles, MetricsLogResumeDropsRowsAfterTheCheckpointAndTornLines) {
  {
    MetricsLog log = MetricsLog::create(dir_);
    for (long step = 1; step <= 5; ++step) log.append(row(step, 1.0 / static_cast<double>(step)));
  }
  std::ofstream(dir_ / "metrics.csv", std::ios::app) << "6,0,0.16";
  std::ofstream(dir_ / "metrics.jsonl", std::ios::app) << R"({"step":6,"epoch":0,"lo)";

  MetricsLog log = MetricsLog::resume(dir_, 3);
  EXPECT_EQ(read_file(dir_ / "metrics.csv"),
            "step,epoch,loss,val_loss,lr,grad_norm,samples_per_s,wall_s\n"
            "1,0,1,,0.01,1.5,2048,0.125\n"
            "2,0,0.5,,0.01,1.5,2048,0.25\n"
            "3,0,0.3333333333333333,,0.01,1.5,2048,0.375\n");
  log.append(row(4, 0.2));
  const std::string csv = read_file(dir_ / "metrics.csv");
  EXPECT_EQ(csv.substr(csv.rfind("3,0,")),
            "3,0,0.3333333333333333,,0.01,1.5,2048,0.375\n"
            "4,0,0.2,,0.01,1.5,2048,0.5\n");

  const std::string jsonl = read_file(dir_ / "metrics.jsonl");
  std::vector<std::string> steps;
  std::istringstream lines(jsonl);
  for (std::string line; std::getline(lines, line);) steps.push_back(line.substr(0, 10));
  EXPECT_EQ(steps, (std::vector<std::string>{R"({"step":1,)", R"({"step":2,)", R"({"step":3,)",
                                             R"({"step":4,)"}));
  EXPECT_EQ(jsonl.back(), '\n');
}

TEST_F(RunFiles, MetricsLogResumeWithoutOldFilesStartsEmpty) {
  MetricsLog log = MetricsLog::resume(dir_, 100);
  log.append(row(101, 0.5));
  EXPECT_EQ(read_file(dir_ / "metrics.csv"),
            "step,epoch,loss,val_loss,lr,grad_norm,samples_per_s,wall_s\n"
            "101,10,0.5,,0.01,1.5,2048,12.625\n");
}

TEST_F(RunFiles, MetricsLogRefusesToRewriteAFileThatIsNotItsOwn) {
  fs::create_directories(dir_);
  write_file(dir_ / "metrics.csv", "iteration,cost\n1,0.5\n");
  try {
    MetricsLog::resume(dir_, 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::io_error);
    EXPECT_NE(e.message().find("header"), std::string::npos) << e.message();
  }
  EXPECT_EQ(read_file(dir_ / "metrics.csv"), "iteration,cost\n1,0.5\n");  // untouched
}

// ---------------------------------------------------------------------------------------------
// The loss chart

// The `points` attribute of the polyline of class `name`, or "" when there is none.
std::string polyline_points(const std::string& svg, const std::string& name) {
  const std::size_t at = svg.find("<polyline class=\"" + name + "\"");
  if (at == std::string::npos) return {};
  const std::size_t begin = svg.find("points=\"", at) + 8;
  return svg.substr(begin, svg.find('"', begin) - begin);
}

std::size_t point_count(const std::string& points) {
  if (points.empty()) return 0;
  return static_cast<std::size_t>(std::count(points.begin(), points.end(), ' ')) + 1;
}

std::vector<LossPoint> curve(long n, double (*loss)(long)) {
  std::vector<LossPoint> points;
  for (long i = 0; i < n; ++i) points.push_back({i + 1, loss(i)});
  return points;
}

// Parses the file with Python's XML parser and checks that it is an SVG with `polylines`
// polylines. Skips (with the reason) where python3 is missing.
void expect_well_formed_svg(const fs::path& path, int polylines) {
  if (std::system("python3 -c 'import xml.etree.ElementTree' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 with xml.etree is not available to check the SVG";
  }
  const std::string command =
      "python3 -c \"import sys, xml.etree.ElementTree as ET; "
      "root = ET.parse(sys.argv[1]).getroot(); "
      "ns = '{http://www.w3.org/2000/svg}'; "
      "assert root.tag == ns + 'svg', root.tag; "
      "n = len(root.findall('.//' + ns + 'polyline')); "
      "assert n == int(sys.argv[2]), n\" '" +
      path.string() + "' " + std::to_string(polylines);
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST_F(RunFiles, LossChartIsWellFormedSvgWithBothCurves) {
  fs::create_directories(dir_);
  const auto train = curve(200, [](long i) { return 2.0 / (1.0 + 0.1 * static_cast<double>(i)); });
  std::vector<LossPoint> val;
  for (long i = 0; i < 200; i += 20)
    val.push_back({i + 1, 2.2 / (1.0 + 0.1 * static_cast<double>(i))});
  const fs::path path = dir_ / "loss.svg";
  write_loss_svg(path, train, val, "logistic <fit> & friends");
  const std::string svg = read_file(path);
  EXPECT_EQ(point_count(polyline_points(svg, "train")), 200u);
  EXPECT_EQ(point_count(polyline_points(svg, "val")), 10u);
  EXPECT_NE(svg.find("logistic &lt;fit&gt; &amp; friends"), std::string::npos);
  EXPECT_NE(svg.find(">validation</text>"), std::string::npos);
  EXPECT_NE(svg.find(">step</text>"), std::string::npos);
  EXPECT_EQ(svg.find("log scale"), std::string::npos);  // 2.0 down to 0.1: linear
  expect_well_formed_svg(path, 2);
}

TEST_F(RunFiles, LossChartUsesALogScaleWhenLossesSpanMoreThanTwoDecades) {
  fs::create_directories(dir_);
  const auto train =
      curve(100, [](long i) { return std::pow(10.0, -0.05 * static_cast<double>(i)); });
  const fs::path path = dir_ / "loss.svg";
  write_loss_svg(path, train, {});
  const std::string svg = read_file(path);
  EXPECT_NE(svg.find("loss (log scale)"), std::string::npos);
  // Decade ticks from 1e-05 (the floor of 10^-4.95) up to 1.
  EXPECT_NE(svg.find(">1e-05</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.001</text>"), std::string::npos);
  EXPECT_NE(svg.find(">1</text>"), std::string::npos);
  EXPECT_EQ(polyline_points(svg, "val"), "");  // no validation curve, no legend entry
  EXPECT_EQ(svg.find(">validation</text>"), std::string::npos);
  expect_well_formed_svg(path, 1);
}

TEST_F(RunFiles, LossChartHandlesOnePointAndConstantLosses) {
  fs::create_directories(dir_);
  const std::vector<LossPoint> one = {{7, 0.5}};
  write_loss_svg(dir_ / "one.svg", one, one);
  const std::string svg = read_file(dir_ / "one.svg");
  EXPECT_EQ(point_count(polyline_points(svg, "train")), 1u);
  EXPECT_NE(svg.find("<circle"), std::string::npos);  // a lone point still shows
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  expect_well_formed_svg(dir_ / "one.svg", 2);

  const auto flat = curve(50, [](long) { return 1.25; });
  write_loss_svg(dir_ / "flat.svg", flat, {});
  const std::string flat_svg = read_file(dir_ / "flat.svg");
  EXPECT_EQ(point_count(polyline_points(flat_svg, "train")), 50u);
  EXPECT_EQ(flat_svg.find("nan"), std::string::npos);
  expect_well_formed_svg(dir_ / "flat.svg", 1);
}

TEST_F(RunFiles, LossChartSkipsNonFiniteLossesAndSurvivesHavingNone) {
  fs::create_directories(dir_);
  const std::vector<LossPoint> diverged = {{1, 1.0}, {2, 0.5}, {3, kNaN}, {4, kInf}};
  write_loss_svg(dir_ / "diverged.svg", diverged, {});
  EXPECT_EQ(point_count(polyline_points(read_file(dir_ / "diverged.svg"), "train")), 2u);
  expect_well_formed_svg(dir_ / "diverged.svg", 1);

  const std::vector<LossPoint> none = {{1, kNaN}};
  write_loss_svg(dir_ / "none.svg", none, {});
  EXPECT_NE(read_file(dir_ / "none.svg").find("no finite loss"), std::string::npos);
  expect_well_formed_svg(dir_ / "none.svg", 0);
}

// 1e5 points become at most 2000, and decimation keeps the spike at step 50000.
TEST_F(RunFiles, LossChartDecimatesLongSeriesKeepingSpikes) {
  fs::create_directories(dir_);
  auto train = curve(100000, [](long i) { return 1.0 + 0.5 * std::sin(static_cast<double>(i)); });
  train[49999].loss = 40.0;
  const auto val = curve(100000, [](long i) { return 1.2 + 0.001 * static_cast<double>(i % 7); });
  write_loss_svg(dir_ / "long.svg", train, val);
  const std::string svg = read_file(dir_ / "long.svg");
  const std::string points = polyline_points(svg, "train");
  EXPECT_LE(point_count(points), 2000u);
  EXPECT_GE(point_count(points), 1000u);
  EXPECT_LE(point_count(polyline_points(svg, "val")), 2000u);
  // The spike is the highest point: y at the top of the plot area (kTop = 48 px).
  EXPECT_NE(points.find(",48.00"), std::string::npos);
  EXPECT_LT(svg.size(), 200000u);
  expect_well_formed_svg(dir_ / "long.svg", 2);
}

// ---------------------------------------------------------------------------------------------
// The manifest

TEST_F(RunFiles, ManifestIsIndentedJsonWrittenAtomically) {
  fs::create_directories(dir_);
  const fs::path path = dir_ / "manifest.json";
  write_file(path, "old");
  RunDirectory::open(dir_).write_manifest(Json::object()
                                              .set("config", "configs/logistic.toml")
                                              .set("device", "cpu")
                                              .set("steps", 1000)
                                              .set("final_loss", 0.3125));
  EXPECT_EQ(read_file(path),
            "{\n"
            "  \"config\": \"configs/logistic.toml\",\n"
            "  \"device\": \"cpu\",\n"
            "  \"steps\": 1000,\n"
            "  \"final_loss\": 0.3125\n"
            "}\n");
  // No temporary file is left beside it (only the run's lock).
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir_))
    if (entry.path().filename() != RunDirectory::kLockFile) ++files;
  EXPECT_EQ(files, 1u);
}

TEST_F(RunFiles, ManifestMustBeAnObject) {
  fs::create_directories(dir_);
  try {
    RunDirectory::open(dir_).write_manifest(Json::array({1, 2}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::failure);
  }
  EXPECT_FALSE(fs::exists(dir_ / "manifest.json"));
}

TEST_F(RunFiles, WritingIntoAMissingDirectoryIsAnIoError) {
  try {
    RunDirectory::open(dir_ / "no" / "such").write_manifest(Json::object());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::io_error);
  }
}

}  // namespace
}  // namespace descent
