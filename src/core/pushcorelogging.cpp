// SPDX-License-Identifier: MIT
#include "pushcorelogging_p.h"

Q_LOGGING_CATEGORY(lcPushCore, "qtpush.core", QtWarningMsg)
