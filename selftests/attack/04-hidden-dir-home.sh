#!/usr/bin/env bash
# attack: T1564.001 A directory named '.. ' in a user's home to hide tools
. "$(dirname "$0")/lib/common.sh"
mkhome
mkdir "$HOME/.. "
printf '#!/bin/sh\necho hi\n' > "$HOME/.. /run"
