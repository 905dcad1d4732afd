/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-request client overhead of the C client on the W6 request, no network: the time to encode
 * the request (one FP32 [1,784] input named "input", built into a reused request and encoded with
 * the binary tensor data extension) and to decode a fixed binary answer ("class" BYTES [1],
 * "probabilities" FP32 [1,10]), each averaged over N runs after a warm-up. Prints one JSON line
 * (microseconds per request), like bench/clients/python_overhead.py and ts_overhead.mjs:
 *   {"client":"c","encode_us":..,"decode_us":..,"iterations":N}
 *
 *   build/bench/c_overhead [--iterations N]     # default 20000
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aimass_client.h"

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int failed(const char* what, aimass_client_error* error) {
  fprintf(stderr, "c_overhead: %s: %s\n", what, aimass_client_error_message(error));
  aimass_client_error_free(error);
  return 1;
}

/* Encodes the W6 request `n` times; 0, or 1 with a message on a failure. */
static int encode_n(aimass_client_request* request, const float* pixels, long n, size_t* checksum) {
  const int64_t shape[2] = {1, 784};
  aimass_client_error* error = NULL;
  for (long i = 0; i < n; ++i) {
    const char* body = NULL;
    size_t size = 0, header = 0;
    aimass_client_request_clear(request);
    if (aimass_client_request_add_input(request, "input", AIMASS_CLIENT_FP32, shape, 2, pixels,
                                        784 * sizeof(float), &error) != AIMASS_CLIENT_OK ||
        aimass_client_request_encode(request, &body, &size, &header, &error) !=
            AIMASS_CLIENT_OK) {
      return failed("encode", error);
    }
    if (size != header + 784 * sizeof(float)) {
      fprintf(stderr, "c_overhead: the request is not 3136 bytes of tensor data\n");
      return 1;
    }
    *checksum += size;
  }
  return 0;
}

/* Decodes the answer `n` times; 0, or 1 with a message on a failure. */
static int decode_n(const char* answer, size_t size, size_t header, long n, size_t* checksum) {
  aimass_client_error* error = NULL;
  for (long i = 0; i < n; ++i) {
    aimass_client_result* result = NULL;
    if (aimass_client_result_decode(answer, size, header, &result, &error) != AIMASS_CLIENT_OK) {
      return failed("decode", error);
    }
    size_t length = 0;
    const char* label =
        aimass_client_output_bytes_at(aimass_client_result_find_output(result, "class"), 0, &length);
    if (!label || length != 6 || memcmp(label, "Sandal", 6) != 0) {
      fprintf(stderr, "c_overhead: the answer did not decode\n");
      aimass_client_result_free(result);
      return 1;
    }
    *checksum += aimass_client_output_element_count(aimass_client_result_output(result, 1));
    aimass_client_result_free(result);
  }
  return 0;
}

int main(int argc, char** argv) {
  long n = 20000;
  if (argc == 3 && strcmp(argv[1], "--iterations") == 0) {
    n = strtol(argv[2], NULL, 10);
  } else if (argc != 1) {
    n = 0;
  }
  if (n <= 0) {
    fprintf(stderr, "usage: c_overhead [--iterations N]   (N > 0)\n");
    return 2;
  }
  long warm_up = n < 1000 ? n : 1000;
  static float pixels[784];
  for (int i = 0; i < 784; ++i) {
    pixels[i] = (float)(i % 256) / 255.0f;
  }
  aimass_client_request* request = aimass_client_request_create();
  size_t checksum = 0;
  if (!request || encode_n(request, pixels, warm_up, &checksum)) {
    return 1;
  }
  double start = now_us();
  if (encode_n(request, pixels, n, &checksum)) {
    return 1;
  }
  double encode_us = (now_us() - start) / (double)n;
  aimass_client_request_free(request);

  /* The answer frontend.http gives the W6 model for one row, in binary. */
  const char* header =
      "{\"model_name\":\"fashion\",\"model_version\":\"1\",\"outputs\":["
      "{\"name\":\"class\",\"datatype\":\"BYTES\",\"shape\":[1],"
      "\"parameters\":{\"binary_data_size\":10}},"
      "{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[1,10],"
      "\"parameters\":{\"binary_data_size\":40}}]}";
  size_t header_length = strlen(header);
  char answer[1024];
  uint32_t length = 6;
  float probabilities[10] = {0.01f, 0.02f, 0.03f, 0.04f, 0.5f, 0.1f, 0.1f, 0.1f, 0.05f, 0.05f};
  memcpy(answer, header, header_length);
  memcpy(answer + header_length, &length, 4);
  memcpy(answer + header_length + 4, "Sandal", 6);
  memcpy(answer + header_length + 10, probabilities, sizeof probabilities);
  size_t answer_size = header_length + 10 + sizeof probabilities;

  if (decode_n(answer, answer_size, header_length, warm_up, &checksum)) {
    return 1;
  }
  start = now_us();
  if (decode_n(answer, answer_size, header_length, n, &checksum)) {
    return 1;
  }
  double decode_us = (now_us() - start) / (double)n;
  if (checksum == 0) {
    return 1;
  }
  printf("{\"client\":\"c\",\"encode_us\":%.3f,\"decode_us\":%.3f,\"iterations\":%ld}\n",
         encode_us, decode_us, n);
  return 0;
}
