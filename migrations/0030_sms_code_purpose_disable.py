from gateway.migration_ops import StateOnlyAlterField
from tortoise import migrations
from loyalty.auth.models import SmsCodePurpose
from tortoise import fields

# sms_codes.purpose gains DISABLE: the code sent to the confirmed number that turns SMS codes off
# (disableSmsTwoFactor). The column (varchar 8) is unchanged: a state-only change (gateway.migration_ops), so
# SQLite does not rebuild the table and drop its index.

class Migration(migrations.Migration):
    dependencies = [('milesgate', '0029_miles_to_status_and_status_stars')]

    initial = False

    operations = [
        StateOnlyAlterField(
            model_name='SmsCode',
            name='purpose',
            field=fields.CharEnumField(description='SETUP: SETUP\nSIGN_IN: SIGN_IN\nDISABLE: DISABLE', enum_type=SmsCodePurpose, max_length=8),
        ),
    ]
