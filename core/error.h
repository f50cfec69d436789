/* Error reporting for the core library: a status code plus a message that names
 * the file, line, offset or value at fault. Functions never exit(); they fill an
 * AuError and return its code. */
#ifndef AU_ERROR_H
#define AU_ERROR_H

#include "au/au_error.h"

#endif
