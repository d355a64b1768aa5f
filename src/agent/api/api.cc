#include "agent/api/api.h"
