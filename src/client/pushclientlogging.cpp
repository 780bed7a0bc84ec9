// SPDX-License-Identifier: MIT
#include "pushclientlogging_p.h"

Q_LOGGING_CATEGORY(lcPushClient, "qtpush.client", QtWarningMsg)
