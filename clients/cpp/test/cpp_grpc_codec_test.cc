// SPDX-License-Identifier: Apache-2.0
// GrpcClient's tensor codec without a server: every datatype into raw and typed request
// contents, every typed and raw answer back into Tensors, and malformed answers refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "error_of.h"
#include "grpc_codec.h"

namespace aimass::client::testing {
namespace {

using ::testing::HasSubstr;

TEST(GrpcCodec, RequestCarriesOptionsAndRawContents) {
  std::vector<std::int16_t> shorts = {-2, 7};
  std::vector<Tensor> inputs = {Tensor::view<std::int16_t>("a", {2}, shorts),
                                Tensor::strings("s", {2}, {"hi", ""})};
  InferOptions options;
  options.version = "3";
  options.request_id = "r";
  options.outputs = {"y", "x"};
  options.parameters = {{"b", true}, {"i", std::int64_t{-4}}, {"d", 0.5}, {"t", std::string("v")}};
  auto request = grpc_codec::encodeRequest("m", inputs, options);
  EXPECT_EQ(request.model_name(), "m");
  EXPECT_EQ(request.model_version(), "3");
  EXPECT_EQ(request.id(), "r");
  ASSERT_EQ(request.outputs_size(), 2);
  EXPECT_EQ(request.outputs(1).name(), "x");
  EXPECT_TRUE(request.parameters().at("b").bool_param());
  EXPECT_EQ(request.parameters().at("i").int64_param(), -4);
  EXPECT_EQ(request.parameters().at("d").double_param(), 0.5);
  EXPECT_EQ(request.parameters().at("t").string_param(), "v");
  ASSERT_EQ(request.inputs_size(), 2);
  EXPECT_EQ(request.inputs(0).datatype(), "INT16");
  EXPECT_EQ(request.inputs(1).datatype(), "BYTES");
  EXPECT_FALSE(request.inputs(0).has_contents());
  ASSERT_EQ(request.raw_input_contents_size(), 2);
  EXPECT_EQ(request.raw_input_contents(0), std::string("\xfe\xff\x07\x00", 4));
  EXPECT_EQ(request.raw_input_contents(1), std::string("\x02\0\0\0hi\0\0\0\0", 10));
}

TEST(GrpcCodec, TypedRequestContentsPerDatatype) {
  std::vector<std::int8_t> i8 = {-1, 2};
  std::vector<std::uint16_t> u16 = {65535, 1};
  std::vector<std::uint64_t> u64 = {1ull << 40};
  std::vector<double> f64 = {2.5};
  const bool flags[] = {true, false};
  std::vector<Tensor> inputs = {Tensor::view<std::int8_t>("i8", {2}, i8),
                                Tensor::view<std::uint16_t>("u16", {2}, u16),
                                Tensor::view<std::uint64_t>("u64", {1}, u64),
                                Tensor::view<double>("f64", {1}, f64),
                                Tensor::view<bool>("b", {2}, std::span<const bool>(flags)),
                                Tensor::strings("s", {1}, {"x"})};
  InferOptions typed;
  typed.binary = false;
  auto request = grpc_codec::encodeRequest("m", inputs, typed);
  EXPECT_EQ(request.raw_input_contents_size(), 0);
  EXPECT_THAT(request.inputs(0).contents().int_contents(), ::testing::ElementsAre(-1, 2));
  EXPECT_THAT(request.inputs(1).contents().uint_contents(), ::testing::ElementsAre(65535u, 1u));
  EXPECT_THAT(request.inputs(2).contents().uint64_contents(), ::testing::ElementsAre(1ull << 40));
  EXPECT_THAT(request.inputs(3).contents().fp64_contents(), ::testing::ElementsAre(2.5));
  EXPECT_THAT(request.inputs(4).contents().bool_contents(), ::testing::ElementsAre(true, false));
  EXPECT_THAT(request.inputs(5).contents().bytes_contents(), ::testing::ElementsAre("x"));
  std::vector<std::uint16_t> half = {0x3c00};
  std::vector<Tensor> fp16 = {
      Tensor::fromBytes("h", DataType::kFp16, {1}, std::as_bytes(std::span(half)))};
  EXPECT_THAT(errorOf([&] { grpc_codec::encodeRequest("m", fp16, typed); }).message(),
              HasSubstr("input 'h': FP16 has no typed gRPC contents"));
  EXPECT_EQ(grpc_codec::encodeRequest("m", fp16, {}).raw_input_contents(0),
            std::string("\x00\x3c", 2));
  EXPECT_EQ(errorOf([&] { grpc_codec::encodeRequest("", fp16, {}); }).code(),
            ErrorCode::kInvalidArgument);
}

TEST(GrpcCodec, TypedAnswersDecodePerDatatype) {
  inference::ModelInferResponse response;
  response.set_model_name("m");
  response.set_model_version("2");
  response.set_id("r");
  auto add = [&](const char* name, const char* type, std::int64_t n) {
    auto* out = response.add_outputs();
    out->set_name(name);
    out->set_datatype(type);
    out->add_shape(n);
    return out->mutable_contents();
  };
  add("i8", "INT8", 2)->add_int_contents(-3);
  response.mutable_outputs(0)->mutable_contents()->add_int_contents(4);
  add("u32", "UINT32", 1)->add_uint_contents(4000000000u);
  add("i64", "INT64", 1)->add_int64_contents(-5);
  add("f32", "FP32", 1)->add_fp32_contents(1.5f);
  add("b", "BOOL", 1)->add_bool_contents(true);
  add("s", "BYTES", 1)->add_bytes_contents("word");
  InferResult result = grpc_codec::decodeResponse(response);
  EXPECT_EQ(result.model_name, "m");
  EXPECT_EQ(result.model_version, "2");
  EXPECT_EQ(result.id, "r");
  EXPECT_EQ(result.binary, std::vector<bool>(6, false));
  EXPECT_THAT(result.output("i8").data<std::int8_t>(), ::testing::ElementsAre(-3, 4));
  EXPECT_THAT(result.output("u32").data<std::uint32_t>(), ::testing::ElementsAre(4000000000u));
  EXPECT_THAT(result.output("i64").data<std::int64_t>(), ::testing::ElementsAre(-5));
  EXPECT_THAT(result.output("f32").data<float>(), ::testing::ElementsAre(1.5f));
  EXPECT_THAT(result.output("b").data<bool>(), ::testing::ElementsAre(true));
  EXPECT_THAT(result.output("s").elements(), ::testing::ElementsAre("word"));
}

TEST(GrpcCodec, RawAnswersDecodeAndMalformedOnesAreRefused) {
  inference::ModelInferResponse response;
  auto* y = response.add_outputs();
  y->set_name("y");
  y->set_datatype("FP32");
  y->add_shape(2);
  float values[] = {0.25f, -1.0f};
  response.add_raw_output_contents(std::string(reinterpret_cast<const char*>(values), 8));
  auto* s = response.add_outputs();
  s->set_name("s");
  s->set_datatype("BYTES");
  s->add_shape(2);
  response.add_raw_output_contents(std::string("\x01\0\0\0a\x00\0\0\0", 9));
  InferResult result = grpc_codec::decodeResponse(response);
  EXPECT_EQ(result.binary, (std::vector<bool>{true, true}));
  EXPECT_THAT(result.output("y").data<float>(), ::testing::ElementsAre(0.25f, -1.0f));
  EXPECT_THAT(result.output("s").elements(), ::testing::ElementsAre("a", ""));

  auto broken = response;
  broken.set_raw_output_contents(0, std::string(4, '\0'));  // one float for shape [2]
  Error short_data = errorOf([&] { grpc_codec::decodeResponse(broken); });
  EXPECT_EQ(short_data.code(), ErrorCode::kProtocol);
  EXPECT_THAT(short_data.message(), HasSubstr("'y'"));
  broken = response;
  broken.set_raw_output_contents(1, std::string("\x09\0\0\0a", 5));
  EXPECT_THAT(errorOf([&] { grpc_codec::decodeResponse(broken); }).message(),
              HasSubstr("output 's': raw BYTES element 0 is cut short"));
  broken = response;
  broken.mutable_outputs(0)->set_datatype("FP8");
  EXPECT_THAT(errorOf([&] { grpc_codec::decodeResponse(broken); }).message(),
              HasSubstr("unknown datatype 'FP8'"));
  broken = response;
  broken.mutable_raw_output_contents()->RemoveLast();
  EXPECT_EQ(errorOf([&] { grpc_codec::decodeResponse(broken); }).code(), ErrorCode::kProtocol);
}

}  // namespace
}  // namespace aimass::client::testing
