// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Everything a plugin author needs, in one include.
#include "aimass/byte_io.h"
#include "aimass/collective.h"
#include "aimass/dataset.h"
#include "aimass/frontend.h"
#include "aimass/host.h"
#include "aimass/http.h"
#include "aimass/job.h"
#include "aimass/model.h"
#include "aimass/node.h"
#include "aimass/optimizer.h"
#include "aimass/params.h"
#include "aimass/plugin.h"
#include "aimass/registry_service.h"
#include "aimass/serving.h"
#include "aimass/status.h"
#include "aimass/storage.h"
#include "aimass/tensor.h"
#include "aimass/training.h"
#include "aimass/util/utf8.h"
#include "aimass/version.h"
