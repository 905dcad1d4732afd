/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-request client overhead of the C client on the W6 request, no network: N encodes of the
 * request (one FP32 [1,784] input named "input", built into a reused request and encoded with
 * the binary tensor data extension) and N decodes of a fixed binary answer ("class" BYTES [1],
 * "probabilities" FP32 [1,10]). Prints one JSON line:
 *   {"client":"c","n":N,"encode_us":..,"decode_us":..}   (microseconds per request)
 * Usage: c_overhead [N]   (default 100000)
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

int main(int argc, char** argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
  if (n <= 0) {
    fprintf(stderr, "usage: c_overhead [N > 0]\n");
    return 2;
  }
  static float pixels[784];
  for (int i = 0; i < 784; ++i) {
    pixels[i] = (float)(i % 256) / 255.0f;
  }
  const int64_t shape[2] = {1, 784};
  aimass_client_error* error = NULL;
  aimass_client_request* request = aimass_client_request_create();
  size_t checksum = 0;

  double start = now_us();
  for (long i = 0; i < n; ++i) {
    const char* body = NULL;
    size_t size = 0, header = 0;
    aimass_client_request_clear(request);
    if (aimass_client_request_add_input(request, "input", AIMASS_CLIENT_FP32, shape, 2, pixels,
                                        sizeof pixels, &error) != AIMASS_CLIENT_OK ||
        aimass_client_request_encode(request, &body, &size, &header, &error) !=
            AIMASS_CLIENT_OK) {
      return failed("encode", error);
    }
    checksum += size;
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

  start = now_us();
  for (long i = 0; i < n; ++i) {
    aimass_client_result* result = NULL;
    if (aimass_client_result_decode(answer, answer_size, header_length, &result, &error) !=
        AIMASS_CLIENT_OK) {
      return failed("decode", error);
    }
    checksum += aimass_client_output_element_count(aimass_client_result_output(result, 1));
    aimass_client_result_free(result);
  }
  double decode_us = (now_us() - start) / (double)n;
  if (checksum == 0) {
    return 1;
  }
  printf("{\"client\":\"c\",\"n\":%ld,\"encode_us\":%.3f,\"decode_us\":%.3f}\n", n, encode_us,
         decode_us);
  return 0;
}
